using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the reductions family (<c>OpSet.Reductions.cs</c>): ArgMax, ArgMin, Max, Mean, Min, Sum.</summary>
internal static class ReductionsKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.Sum, (x, r, o) =>
        {
            var v = Operand(x, 0);
            return v.sum(Axes(r, x[0].Rank), r.KeepDims, ScalarTypeOf(o[0].DType));
        });
        t.Add(OpSet.Mean, (x, r, _) =>
        {
            return Operand(x, 0).mean(Axes(r, x[0].Rank), r.KeepDims);
        });
        t.Add(OpSet.Max, (x, r, _) =>
        {
            return Operand(x, 0).amax(Axes(r, x[0].Rank), r.KeepDims);
        });
        t.Add(OpSet.Min, (x, r, _) =>
        {
            return Operand(x, 0).amin(Axes(r, x[0].Rank), r.KeepDims);
        });
        t.Add(OpSet.ArgMax, (x, a, o) => ArgReduce(Operand(x, 0), a, o[0], max: true));
        t.Add(OpSet.ArgMin, (x, a, o) => ArgReduce(Operand(x, 0), a, o[0], max: false));
    }

    private static long[] Axes(ReduceAttrs a, int rank) => Array.ConvertAll(a.Resolve(rank), i => (long)i);

    private static TT ArgReduce(TT v, ArgReduceAttrs a, TensorSpec o, bool max)
    {
        if (a.Axis is { } axis) return max ? v.argmax(axis, a.KeepDims) : v.argmin(axis, a.KeepDims);
        // Flattened form: libtorch's keepdim with no dim is version-dependent, so reshape to the inferred shape ourselves.
        using var flat = max ? v.argmax() : v.argmin();
        return flat.reshape(o.Shape.Raw);
    }
}
