using DualFramework.Operators;
using TorchSharp;
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
        t.Add(OpSet.Concat, (x, a, _) =>
        {
            var parts = new TT[x.Length];
            for (int i = 0; i < parts.Length; i++) parts[i] = In(x, i);
            return torch.cat(parts, ((ConcatAttrs)a).Axis);
        });
        t.Add(OpSet.Split, (x, a, _) =>
        {
            var s = (SplitAttrs)a;
            var pieces = In(x, 0).split(s.Sizes, s.Axis);
            // The dispatcher expects a bare handle, not an array, when there is one output.
            return pieces.Length == 1 ? pieces[0] : pieces.Cast<object>().ToArray();
        });
        t.Add(OpSet.OneHot, (x, a, o) =>
        {
            var h = (OneHotAttrs)a;
            var idx = In(x, 0);
            // libtorch's one_hot takes int64 indices only and returns int64.
            using var i64 = idx.dtype == torch.ScalarType.Int64 ? null : idx.to_type(torch.ScalarType.Int64);
            var encoded = torch.nn.functional.one_hot(i64 ?? idx, h.Depth);
            if (encoded.dtype == St(o[0].DType)) return encoded;
            using (encoded) return encoded.to_type(St(o[0].DType));
        });
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
