using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.K;

namespace DualFramework.Torch;

/// <summary>Kernels of the reductions.</summary>
internal static class ReductionKernels
{
    private static long[] Axes(ReduceAttrs a, int rank) => Array.ConvertAll(a.Resolve(rank), i => (long)i);

    public static void Register(KernelTable t)
    {
        t.Add(OpSet.Sum, (x, a, o) =>
        {
            var r = (ReduceAttrs)a;
            var v = In(x, 0);
            return v.sum(Axes(r, x[0].Rank), r.KeepDims, St(o[0].DType));
        });
        t.Add(OpSet.Mean, (x, a, _) =>
        {
            var r = (ReduceAttrs)a;
            return In(x, 0).mean(Axes(r, x[0].Rank), r.KeepDims);
        });
        t.Add(OpSet.Max, (x, a, _) =>
        {
            var r = (ReduceAttrs)a;
            return In(x, 0).amax(Axes(r, x[0].Rank), r.KeepDims);
        });
        t.Add(OpSet.Min, (x, a, _) =>
        {
            var r = (ReduceAttrs)a;
            return In(x, 0).amin(Axes(r, x[0].Rank), r.KeepDims);
        });
    }
}
