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

    private static OpException ShapeError(string op, Tensor x, string reason) => new(op, [x.Spec], reason, LayerPath.Current);

    /// <summary>Joins <paramref name="tensors"/> along <paramref name="axis"/>. Mixed dtypes are promoted; every other
    /// dimension must agree. A single tensor is returned as is.</summary>
    /// <param name="tensors">One or more tensors of the same rank (≥ 1).</param>
    /// <param name="axis">The joined axis (negative counts from the end).</param>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        if (tensors.Count == 0) throw new OpException("concat", [], "needs at least one tensor", LayerPath.Current);
        var specs = tensors.Select(t => t.Spec).ToArray();
        if (tensors[0].Rank == 0)
            throw new OpException("concat", specs, "cannot concatenate rank-0 operands; reshape them to rank 1 first", LayerPath.Current);
        int a = tensors[0].Shape.TryNormalizeAxis(axis);
        if (a < 0) throw new OpException("concat", specs, $"axis {axis} is out of range for rank {tensors[0].Rank}", LayerPath.Current);
        if (tensors.Count == 1) return tensors[0];
        var dt = tensors[0].DType;
        for (int i = 1; i < tensors.Count; i++) dt = DTypes.Promote(dt, tensors[i].DType);
        return Apply(OpSet.Concat, new ConcatAttrs(a), tensors.Select(t => CastTo(t, dt)).ToArray());
    }

    /// <summary>Cuts <paramref name="x"/> along <paramref name="axis"/> into consecutive pieces of the given sizes
    /// (non-negative, summing to the axis size).</summary>
    /// <param name="x">A tensor of rank ≥ 1.</param>
    /// <param name="sizes">Size of each piece along <paramref name="axis"/>.</param>
    /// <param name="axis">The cut axis (negative counts from the end).</param>
    /// <returns>One tensor per entry of <paramref name="sizes"/>.</returns>
    public static Tensor[] Split(Tensor x, long[] sizes, int axis = 0)
    {
        int a = x.Shape.TryNormalizeAxis(axis);
        if (a < 0) throw ShapeError("split", x, $"axis {axis} is out of range for rank {x.Rank}");
        return Dispatcher.ApplyMulti(OpSet.Split, new SplitAttrs(a, (long[])sizes.Clone()), x);
    }

    /// <summary>Cuts <paramref name="x"/> along <paramref name="axis"/> into <paramref name="parts"/> pieces of equal size;
    /// the axis size must be divisible by <paramref name="parts"/> (as NumPy's <c>split</c>).</summary>
    /// <param name="x">A tensor of rank ≥ 1.</param>
    /// <param name="parts">Number of pieces (≥ 1).</param>
    /// <param name="axis">The cut axis (negative counts from the end).</param>
    public static Tensor[] Split(Tensor x, int parts, int axis = 0)
    {
        int a = x.Shape.TryNormalizeAxis(axis);
        if (a < 0) throw ShapeError("split", x, $"axis {axis} is out of range for rank {x.Rank}");
        if (parts < 1) throw ShapeError("split", x, $"number of parts {parts} must be positive");
        long n = x.Shape[a];
        if (n % parts != 0) throw ShapeError("split", x, $"axis {a} of size {n} cannot be split into {parts} equal parts");
        return Split(x, Enumerable.Repeat(n / parts, parts).ToArray(), a);
    }

    /// <summary>Removes size-1 axes: the listed ones (each must have size 1), or every size-1 axis when
    /// <paramref name="axes"/> is null.</summary>
    /// <param name="x">Any tensor.</param>
    /// <param name="axes">Axes to remove (negative count from the end), or null for all size-1 axes.</param>
    public static Tensor Squeeze(Tensor x, int[]? axes = null)
    {
        var drop = new bool[x.Rank];
        if (axes == null)
        {
            for (int i = 0; i < x.Rank; i++) drop[i] = x.Shape[i] == 1;
        }
        else
        {
            foreach (var axis in axes)
            {
                int a = x.Shape.TryNormalizeAxis(axis);
                if (a < 0) throw ShapeError("squeeze", x, $"axis {axis} is out of range for rank {x.Rank}");
                if (drop[a]) throw ShapeError("squeeze", x, $"axis {a} repeated");
                if (x.Shape[a] != 1) throw ShapeError("squeeze", x, $"axis {a} has size {x.Shape[a]}, not 1");
                drop[a] = true;
            }
        }
        var dims = new List<long>(x.Rank);
        for (int i = 0; i < x.Rank; i++)
            if (!drop[i]) dims.Add(x.Shape[i]);
        return Reshape(x, dims.ToArray());
    }

    /// <summary>Removes one size-1 axis.</summary>
    /// <param name="x">Any tensor.</param>
    /// <param name="axis">The axis to remove (negative counts from the end); it must have size 1.</param>
    public static Tensor Squeeze(Tensor x, int axis) => Squeeze(x, [axis]);

    /// <summary>Inserts a size-1 axis so that it becomes axis <paramref name="axis"/> of the result.</summary>
    /// <param name="x">Any tensor.</param>
    /// <param name="axis">Position in the result, in [−(rank+1), rank]; negative counts from the end of the result.</param>
    public static Tensor Unsqueeze(Tensor x, int axis)
    {
        int r = x.Rank + 1;
        int a = axis < 0 ? axis + r : axis;
        if (a < 0 || a >= r) throw ShapeError("unsqueeze", x, $"axis {axis} is out of range for inserting into rank {x.Rank}");
        var dims = new List<long>(x.Shape.ToArray());
        dims.Insert(a, 1);
        return Reshape(x, dims.ToArray());
    }

    /// <summary>Merges axes <paramref name="startAxis"/>..<paramref name="endAxis"/> (inclusive) into one. A rank-0 tensor
    /// becomes shape [1] (with start and end 0 or −1), as in PyTorch.</summary>
    /// <param name="x">Any tensor.</param>
    /// <param name="startAxis">First merged axis (negative counts from the end); default 1 keeps a leading batch axis.</param>
    /// <param name="endAxis">Last merged axis, inclusive (negative counts from the end).</param>
    public static Tensor Flatten(Tensor x, int startAxis = 1, int endAxis = -1)
    {
        if (x.Rank == 0)
        {
            if (startAxis is not (0 or -1) || endAxis is not (0 or -1))
                throw ShapeError("flatten", x, $"axes ({startAxis}, {endAxis}) are out of range for a rank-0 tensor");
            return Reshape(x, 1);
        }
        int s = x.Shape.TryNormalizeAxis(startAxis), e = x.Shape.TryNormalizeAxis(endAxis);
        if (s < 0 || e < 0) throw ShapeError("flatten", x, $"axes ({startAxis}, {endAxis}) are out of range for rank {x.Rank}");
        if (s > e) throw ShapeError("flatten", x, $"start axis {s} comes after end axis {e}");
        var dims = new List<long>();
        for (int i = 0; i < s; i++) dims.Add(x.Shape[i]);
        long merged = 1;
        for (int i = s; i <= e; i++) merged *= x.Shape[i];
        dims.Add(merged);
        for (int i = e + 1; i < x.Rank; i++) dims.Add(x.Shape[i]);
        return Reshape(x, dims.ToArray());
    }

    /// <summary>Broadcasts to <paramref name="shape"/> (NumPy rules, as <see cref="BroadcastTo"/>), where −1 keeps the
    /// corresponding dimension of <paramref name="x"/> (dimensions align from the right; new leading ones cannot be −1).</summary>
    /// <param name="x">Any tensor.</param>
    /// <param name="shape">Target dimensions; −1 entries copy <paramref name="x"/>'s size.</param>
    public static Tensor Expand(Tensor x, params long[] shape)
    {
        int lead = shape.Length - x.Rank;
        if (lead < 0) throw ShapeError("broadcast_to", x, $"target [{string.Join(", ", shape)}] has fewer dimensions than the operand");
        var dims = new long[shape.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (shape[i] == -1)
            {
                if (i < lead) throw ShapeError("broadcast_to", x, $"-1 at new leading axis {i} of [{string.Join(", ", shape)}]");
                dims[i] = x.Shape[i - lead];
            }
            else if (shape[i] < 0) throw ShapeError("broadcast_to", x, $"negative dimension in target shape [{string.Join(", ", shape)}]");
            else dims[i] = shape[i];
        }
        return BroadcastTo(x, new Shape(dims));
    }
}
