using DualFramework.Operators;
using TT = TorchSharp.torch.Tensor;
using static DualFramework.Torch.K;

namespace DualFramework.Torch;

/// <summary>Kernels of the shape ops. Several return views: DualFramework tensors are immutable, so sharing storage is safe.</summary>
internal static class ShapeKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.Reshape, (x, _, o) => In(x, 0).reshape(o[0].Shape.Raw));
        t.Add(OpSet.BroadcastTo, (x, _, o) => In(x, 0).expand(o[0].Shape.Raw));
        t.Add(OpSet.Permute, (x, a, _) => In(x, 0).permute(Array.ConvertAll(((PermuteAttrs)a).Perm, i => (long)i)));
        t.Add(OpSet.Slice, (x, a, _) => SliceView(In(x, 0), (SliceAttrs)a));
        t.Add(OpSet.SliceScatter, (x, a, _) =>
        {
            var result = In(x, 0).clone();
            using var region = SliceView(result, (SliceAttrs)a);
            region.copy_(In(x, 1));
            return result;
        });
    }

    private static TT SliceView(TT x, SliceAttrs s)
    {
        var v = x.alias();
        for (int i = 0; i < s.Axes.Length; i++)
        {
            var next = v.slice(s.Axes[i], s.Starts[i], s.Ends[i], s.Steps[i]);
            v.Dispose();
            v = next;
        }
        return v;
    }
}
