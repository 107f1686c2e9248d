using DualFramework.Operators;
using TorchSharp;
using TT = TorchSharp.torch.Tensor;
using static DualFramework.Torch.KernelHelpers;

namespace DualFramework.Torch;

/// <summary>Kernels of the shape ops. Several return views: DualFramework tensors are immutable, so sharing storage is safe.</summary>
internal static class ShapeKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.Reshape, (x, _, o) => Operand(x, 0).reshape(o[0].Shape.Raw));
        t.Add(OpSet.BroadcastTo, (x, _, o) => Operand(x, 0).expand(o[0].Shape.Raw));
        t.Add(OpSet.Permute, (x, a, _) => Operand(x, 0).permute(Array.ConvertAll(((PermuteAttrs)a).Perm, i => (long)i)));
        t.Add(OpSet.Slice, (x, a, _) => SliceView(Operand(x, 0), (SliceAttrs)a));
        t.Add(OpSet.Concat, (x, a, _) =>
        {
            var parts = new TT[x.Length];
            for (int i = 0; i < parts.Length; i++) parts[i] = Operand(x, i);
            return torch.cat(parts, ((ConcatAttrs)a).Axis);
        });
        t.Add(OpSet.Split, (x, a, _) =>
        {
            var s = (SplitAttrs)a;
            var pieces = Operand(x, 0).split(s.Sizes, s.Axis);
            // The dispatcher expects a bare handle, not an array, when there is one output.
            return pieces.Length == 1 ? pieces[0] : pieces.Cast<object>().ToArray();
        });
        t.Add(OpSet.OneHot, (x, a, o) =>
        {
            var h = (OneHotAttrs)a;
            var idx = Operand(x, 0);
            // libtorch's one_hot takes int64 indices only and returns int64.
            using var i64 = idx.dtype == torch.ScalarType.Int64 ? null : idx.to_type(torch.ScalarType.Int64);
            var encoded = torch.nn.functional.one_hot(i64 ?? idx, h.Depth);
            if (encoded.dtype == ScalarTypeOf(o[0].DType)) return encoded;
            using (encoded) return encoded.to_type(ScalarTypeOf(o[0].DType));
        });
        t.Add(OpSet.SliceScatter, (x, a, _) =>
        {
            var result = Operand(x, 0).clone();
            using var region = SliceView(result, (SliceAttrs)a);
            region.copy_(Operand(x, 1));
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
