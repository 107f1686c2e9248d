using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using F = TorchSharp.torch.nn.functional;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the linalg family (<c>OpSet.Linalg.cs</c>, <c>OpSet.Det.cs</c>): Linear, MatMul, Det.</summary>
internal static class LinalgKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.MatMul, (x, _, _) => torch.matmul(Operand(x, 0), Operand(x, 1)));
        t.Add(OpSet.Linear, (x, _, _) => F.linear(Operand(x, 0), Operand(x, 1), x.Length == 3 ? Operand(x, 2) : null));
        t.Add(OpSet.Det, (x, _, _) =>
        {
            // libtorch's LU-based det has no half-precision CPU kernel: computed in float32, rounded once.
            var m = Operand(x, 0);
            if (m.dtype is torch.ScalarType.Float32 or torch.ScalarType.Float64) return torch.linalg.det(m);
            using var wide = m.to_type(torch.ScalarType.Float32);
            using var d = torch.linalg.det(wide);
            return d.to_type(m.dtype);
        });
    }
}
