using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the topk family (<c>OpSet.TopK.cs</c>): TopK.</summary>
internal static class TopKKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.TopK, (x, a, _) =>
        {
            var (values, indices) = torch.topk(Operand(x, 0), (int)a.K, a.Axis, a.Largest, a.Sorted);
            return new object[] { values, indices };
        });
    }
}
