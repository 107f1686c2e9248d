using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>Same elements, new shape (one dimension may be −1).</summary>
    public static Tensor Reshape(Tensor x, params long[] shape) => Apply(OpSet.Reshape, new ShapeAttrs((long[])shape.Clone()), x);

    /// <summary>Broadcasts to <paramref name="shape"/> (NumPy rules).</summary>
    public static Tensor BroadcastTo(Tensor x, Shape shape) =>
        x.Shape == shape ? x : Apply(OpSet.BroadcastTo, new ShapeAttrs(shape.ToArray()), x);

    /// <summary>Permutes axes: output axis i is input axis <c>perm[i]</c> (negative entries count from the end).</summary>
    public static Tensor Permute(Tensor x, params int[] perm)
    {
        var p = new int[perm.Length];
        for (int i = 0; i < p.Length; i++) p[i] = perm[i] < 0 ? perm[i] + x.Rank : perm[i];
        return Apply(OpSet.Permute, new PermuteAttrs(p), x);
    }

    /// <summary>Swaps two axes.</summary>
    public static Tensor Transpose(Tensor x, int axis0 = -2, int axis1 = -1)
    {
        int a = x.Shape.TryNormalizeAxis(axis0), b = x.Shape.TryNormalizeAxis(axis1);
        if (a < 0 || b < 0) throw new OpException("permute", [x.Spec], $"axes ({axis0}, {axis1}) are out of range for rank {x.Rank}", LayerPath.Current);
        var p = Enumerable.Range(0, x.Rank).ToArray();
        (p[a], p[b]) = (p[b], p[a]);
        return Apply(OpSet.Permute, new PermuteAttrs(p), x);
    }

    /// <summary>Python-style slice of one axis: <c>x[start:end:step]</c> along <paramref name="axis"/>;
    /// negative start/end count from the end, out-of-range bounds are clamped; step must be positive.</summary>
    public static Tensor Slice(Tensor x, int axis, long? start = null, long? end = null, long step = 1) =>
        Slice(x, [axis], [start ?? 0], [end ?? long.MaxValue], [step]);

    /// <summary>Python-style slice of several axes at once (see <see cref="Slice(Tensor, int, long?, long?, long)"/>).</summary>
    public static Tensor Slice(Tensor x, int[] axes, long[] starts, long[] ends, long[]? steps = null)
    {
        steps ??= Enumerable.Repeat(1L, axes.Length).ToArray();
        if (starts.Length != axes.Length || ends.Length != axes.Length || steps.Length != axes.Length)
            throw new OpException("slice", [x.Spec], "axes, starts, ends and steps must have the same length", LayerPath.Current);
        var ax = new int[axes.Length];
        var st = new long[axes.Length];
        var en = new long[axes.Length];
        for (int i = 0; i < axes.Length; i++)
        {
            int a = x.Shape.TryNormalizeAxis(axes[i]);
            if (a < 0) throw new OpException("slice", [x.Spec], $"axis {axes[i]} is out of range for rank {x.Rank}", LayerPath.Current);
            if (steps[i] < 1) throw new OpException("slice", [x.Spec], $"step {steps[i]} must be positive", LayerPath.Current);
            long n = x.Shape[a];
            long s = starts[i] < 0 ? Math.Max(starts[i] + n, 0) : Math.Min(starts[i], n);
            long e = ends[i] < 0 ? Math.Max(ends[i] + n, 0) : Math.Min(ends[i], n);
            ax[i] = a;
            st[i] = s;
            en[i] = Math.Max(e, s);
        }
        return Slice(x, new SliceAttrs(ax, st, en, (long[])steps.Clone()));
    }

    /// <summary>Applies a normalised slice.</summary>
    public static Tensor Slice(Tensor x, SliceAttrs attrs) => Apply(OpSet.Slice, attrs, x);

    /// <summary><paramref name="baseTensor"/> with the region selected by <paramref name="attrs"/> replaced by <paramref name="source"/>.</summary>
    public static Tensor SliceScatter(Tensor baseTensor, Tensor source, SliceAttrs attrs) => Apply(OpSet.SliceScatter, attrs, baseTensor, source);
}
