using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the softmax family (<c>OpSet.Softmax.cs</c>): LogSoftmax, Softmax.</summary>
internal static class SoftmaxKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.Softmax, (x, a, _) => Operand(x, 0).softmax(a.Axis));
        t.Add(OpSet.LogSoftmax, (x, a, _) => Operand(x, 0).log_softmax(a.Axis));
    }
}
