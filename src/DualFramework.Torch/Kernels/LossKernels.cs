using DualFramework.Losses;
using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the loss family (<c>OpSet.Loss.cs</c>): CrossEntropy.</summary>
internal static class LossKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.CrossEntropy, (x, c, _) =>
        {
            var reduction = c.Reduction switch
            {
                Reduction.Sum => torch.nn.Reduction.Sum,
                Reduction.None => torch.nn.Reduction.None,
                _ => torch.nn.Reduction.Mean,
            };
            try
            {
                return torch.nn.functional.cross_entropy(Operand(x, 0), Operand(x, 1), x.Length == 3 ? Operand(x, 2) : null, c.IgnoreIndex, reduction, c.LabelSmoothing);
            }
            catch (Exception e) when (e is not OpException)
            {
                // Target values are data, so only the kernel can see a bad one; report it in our terms.
                throw BadTarget(x, c, e);
            }
        });
    }

    private static Exception BadTarget(ReadOnlySpan<Tensor> x, CrossEntropyAttrs c, Exception inner)
    {
        long classes = x[0].Shape[1];
        using var targets = Operand(x, 1).cpu();
        foreach (var v in targets.data<long>())
            if (v != c.IgnoreIndex && (v < 0 || v >= classes))
                return new OpException("cross_entropy", [x[0].Spec, x[1].Spec], $"target {v} out of range [0, {classes})", LayerPath.Current);
        return inner;
    }
}
