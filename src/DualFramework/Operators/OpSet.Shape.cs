using DualFramework.Autodiff;
using static DualFramework.Ops;

namespace DualFramework.Operators;

/// <summary>A target shape (reshape: may contain one −1; broadcast_to: explicit dims).</summary>
/// <param name="Shape">Target dimensions.</param>
public sealed record ShapeAttrs(long[] Shape) : OpAttrs;

/// <summary>Reinterprets the elements (row-major) with a new shape of the same element count; one dim may be −1.</summary>
public sealed class ReshapeOp : Op<ShapeAttrs>
{
    internal ReshapeOp() : base("reshape") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, ShapeAttrs attrs)
    {
        Arity(inputs, 1);
        var x = inputs[0];
        var dims = (long[])attrs.Shape.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == -1)
            {
                if (infer >= 0) throw Fail(inputs, $"more than one -1 in target shape [{string.Join(", ", attrs.Shape)}]");
                infer = i;
            }
            else if (dims[i] < 0) throw Fail(inputs, $"negative dimension in target shape [{string.Join(", ", attrs.Shape)}]");
            else known *= dims[i];
        }
        long n = x.Shape.NumElements;
        if (infer >= 0)
        {
            if (known == 0 || n % known != 0)
                throw Fail(inputs, $"cannot infer -1 in [{string.Join(", ", attrs.Shape)}] for {n} elements");
            dims[infer] = n / known;
        }
        else if (known != n) throw Fail(inputs, $"target shape [{string.Join(", ", attrs.Shape)}] has {known} elements, the operand {n}");
        return One(Shape.Own(dims), x.DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx) => [ctx.NeedsGrad(0) ? Reshape(ctx.Grad, ctx.Inputs[0].Shape.ToArray()) : null];
}

/// <summary>Broadcasts (NumPy rules) to an explicit shape.</summary>
public sealed class BroadcastToOp : Op<ShapeAttrs>
{
    internal BroadcastToOp() : base("broadcast_to") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, ShapeAttrs attrs)
    {
        Arity(inputs, 1);
        foreach (var d in attrs.Shape)
            if (d < 0) throw Fail(inputs, $"negative dimension in target shape [{string.Join(", ", attrs.Shape)}]");
        var target = Shape.Own((long[])attrs.Shape.Clone());
        if (!inputs[0].Shape.CanBroadcastTo(target)) throw Fail(inputs, $"cannot broadcast {inputs[0].Shape} to {target}");
        return One(target, inputs[0].DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx) => [ctx.NeedsGrad(0) ? SumToShape(ctx.Grad, ctx.Inputs[0].Shape) : null];
}

/// <summary>An axis permutation: output axis i is input axis <c>Perm[i]</c>.</summary>
/// <param name="Perm">The permutation of 0..rank-1.</param>
public sealed record PermuteAttrs(int[] Perm) : OpAttrs;

/// <summary>Permutes axes (transpose).</summary>
public sealed class PermuteOp : Op<PermuteAttrs>
{
    internal PermuteOp() : base("permute") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, PermuteAttrs attrs)
    {
        Arity(inputs, 1);
        var x = inputs[0];
        var p = attrs.Perm;
        if (p.Length != x.Shape.Rank) throw Fail(inputs, $"permutation [{string.Join(", ", p)}] has {p.Length} entries for rank {x.Shape.Rank}");
        var seen = new bool[p.Length];
        var dims = new long[p.Length];
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] < 0 || p[i] >= p.Length || seen[p[i]]) throw Fail(inputs, $"[{string.Join(", ", p)}] is not a permutation of the axes");
            seen[p[i]] = true;
            dims[i] = x.Shape[p[i]];
        }
        return One(Shape.Own(dims), x.DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        var p = ctx.AttrsAs<PermuteAttrs>().Perm;
        var inv = new int[p.Length];
        for (int i = 0; i < p.Length; i++) inv[p[i]] = i;
        return [ctx.NeedsGrad(0) ? Permute(ctx.Grad, inv) : null];
    }
}

/// <summary>A strided slice: for each listed axis, elements <c>start, start+step, …</c> below <c>end</c>.
/// Normalised by <see cref="DualFramework.Ops.Slice(Tensor, int, long?, long?, long)"/>: 0 ≤ start ≤ end ≤ dim, step ≥ 1.</summary>
/// <param name="Axes">Sliced axes (distinct).</param>
/// <param name="Starts">First index per axis.</param>
/// <param name="Ends">Exclusive end per axis.</param>
/// <param name="Steps">Stride per axis (positive).</param>
public sealed record SliceAttrs(int[] Axes, long[] Starts, long[] Ends, long[] Steps) : OpAttrs
{
    internal Shape OutputShape(Shape input)
    {
        var dims = input.ToArray();
        for (int i = 0; i < Axes.Length; i++)
            dims[Axes[i]] = Ends[i] <= Starts[i] ? 0 : (Ends[i] - Starts[i] + Steps[i] - 1) / Steps[i];
        return Shape.Own(dims);
    }

    internal string? Check(Shape input)
    {
        if (Starts.Length != Axes.Length || Ends.Length != Axes.Length || Steps.Length != Axes.Length) return "axes, starts, ends and steps differ in length";
        var seen = new HashSet<int>();
        for (int i = 0; i < Axes.Length; i++)
        {
            int a = Axes[i];
            if (a < 0 || a >= input.Rank) return $"axis {a} is out of range for rank {input.Rank}";
            if (!seen.Add(a)) return $"axis {a} repeated";
            if (Steps[i] < 1) return $"step {Steps[i]} on axis {a} must be positive";
            if (Starts[i] < 0 || Ends[i] < Starts[i] || Ends[i] > input[a]) return $"range [{Starts[i]}, {Ends[i]}) on axis {a} is invalid for size {input[a]}";
        }
        return null;
    }
}

/// <summary>Strided slicing.</summary>
public sealed class SliceOp : Op<SliceAttrs>
{
    internal SliceOp() : base("slice") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, SliceAttrs attrs)
    {
        Arity(inputs, 1);
        if (attrs.Check(inputs[0].Shape) is { } error) throw Fail(inputs, error);
        return One(attrs.OutputShape(inputs[0].Shape), inputs[0].DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx) =>
        [ctx.NeedsGrad(0) ? SliceScatter(ZerosLike(ctx.Inputs[0]), ctx.Grad, ctx.AttrsAs<SliceAttrs>()) : null];
}

/// <summary><c>slice_scatter(base, src)</c>: <c>base</c> with the slice region replaced by <c>src</c> (the adjoint of slice).</summary>
public sealed class SliceScatterOp : Op<SliceAttrs>
{
    internal SliceScatterOp() : base("slice_scatter") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, SliceAttrs attrs)
    {
        Arity(inputs, 2);
        if (inputs[0].DType != inputs[1].DType) throw Fail(inputs, "base and source dtypes differ");
        if (attrs.Check(inputs[0].Shape) is { } error) throw Fail(inputs, error);
        var region = attrs.OutputShape(inputs[0].Shape);
        if (region != inputs[1].Shape) throw Fail(inputs, $"source shape {inputs[1].Shape} does not match the slice region {region}");
        return One(inputs[0].Shape, inputs[0].DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        var a = ctx.AttrsAs<SliceAttrs>();
        var g = ctx.Grad;
        return
        [
            ctx.NeedsGrad(0) ? SliceScatter(g, ZerosLike(ctx.Inputs[1]), a) : null,
            ctx.NeedsGrad(1) ? Slice(g, a) : null,
        ];
    }
}

/// <summary>The axis along which concat joins its operands.</summary>
/// <param name="Axis">Normalised axis in [0, rank).</param>
public sealed record ConcatAttrs(int Axis) : OpAttrs;

/// <summary>Joins N ≥ 1 operands of one dtype and rank ≥ 1 along an axis; all other dimensions must agree.</summary>
public sealed class ConcatOp : Op<ConcatAttrs>
{
    internal ConcatOp() : base("concat") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, ConcatAttrs attrs)
    {
        if (inputs.Length == 0) throw Fail(inputs, "needs at least one operand");
        var first = inputs[0];
        int rank = first.Shape.Rank;
        if (rank == 0) throw Fail(inputs, "cannot concatenate rank-0 operands; reshape them to rank 1 first");
        int axis = attrs.Axis;
        if (axis < 0 || axis >= rank) throw Fail(inputs, $"axis {axis} is out of range for rank {rank}");
        var dims = first.Shape.ToArray();
        for (int i = 1; i < inputs.Length; i++)
        {
            var x = inputs[i];
            if (x.DType != first.DType) throw Fail(inputs, $"operand {i} has dtype {x.DType.Name()}, operand 0 {first.DType.Name()}");
            if (x.Shape.Rank != rank) throw Fail(inputs, $"operand {i} has rank {x.Shape.Rank}, operand 0 rank {rank}");
            for (int d = 0; d < rank; d++)
                if (d != axis && x.Shape[d] != first.Shape[d])
                    throw Fail(inputs, $"operand {i} has size {x.Shape[d]} on axis {d}, operand 0 size {first.Shape[d]} (only axis {axis} may differ)");
            dims[axis] += x.Shape[axis];
        }
        return One(Shape.Own(dims), first.DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        int axis = ctx.AttrsAs<ConcatAttrs>().Axis;
        var g = ctx.Grad;
        var result = new Tensor?[ctx.Inputs.Count];
        long offset = 0;
        for (int i = 0; i < result.Length; i++)
        {
            long n = ctx.Inputs[i].Shape[axis];
            if (ctx.NeedsGrad(i)) result[i] = Slice(g, new SliceAttrs([axis], [offset], [offset + n], [1]));
            offset += n;
        }
        return result;
    }
}

/// <summary>Where split cuts: the axis and the size of each piece along it.</summary>
/// <param name="Axis">Normalised axis in [0, rank).</param>
/// <param name="Sizes">Sizes of the pieces (non-negative, summing to the axis size); one output per entry.</param>
public sealed record SplitAttrs(int Axis, long[] Sizes) : OpAttrs;

/// <summary>Cuts an operand into consecutive pieces along an axis (one output per piece; the inverse of concat).</summary>
public sealed class SplitOp : Op<SplitAttrs>
{
    internal SplitOp() : base("split") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, SplitAttrs attrs)
    {
        Arity(inputs, 1);
        var x = inputs[0];
        int rank = x.Shape.Rank;
        if (rank == 0) throw Fail(inputs, "cannot split a rank-0 operand");
        int axis = attrs.Axis;
        if (axis < 0 || axis >= rank) throw Fail(inputs, $"axis {axis} is out of range for rank {rank}");
        var sizes = attrs.Sizes;
        if (sizes.Length == 0) throw Fail(inputs, "needs at least one piece size");
        long total = 0;
        foreach (var n in sizes)
        {
            if (n < 0) throw Fail(inputs, $"negative piece size in [{string.Join(", ", sizes)}]");
            total += n;
        }
        if (total != x.Shape[axis])
            throw Fail(inputs, $"piece sizes [{string.Join(", ", sizes)}] sum to {total}, but axis {axis} has size {x.Shape[axis]}");
        var specs = new TensorSpec[sizes.Length];
        for (int i = 0; i < sizes.Length; i++)
        {
            var dims = x.Shape.ToArray();
            dims[axis] = sizes[i];
            specs[i] = new TensorSpec(Shape.Own(dims), x.DType);
        }
        return specs;
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        if (!ctx.NeedsGrad(0)) return [null];
        var parts = new Tensor[ctx.Outputs.Count];
        for (int i = 0; i < parts.Length; i++) parts[i] = ctx.OutputGradOrZeros(i);
        return [Concat(parts, ctx.AttrsAs<SplitAttrs>().Axis)];
    }
}

public static partial class OpSet
{
    /// <summary>Concatenation along an axis.</summary>
    public static readonly ConcatOp Concat = new();

    /// <summary>Split into pieces along an axis (multi-output).</summary>
    public static readonly SplitOp Split = new();

    /// <summary>Axis permutation.</summary>
    public static readonly PermuteOp Permute = new();

    /// <summary>Strided slice.</summary>
    public static readonly SliceOp Slice = new();

    /// <summary>Writes a slice region into a copy of a base tensor.</summary>
    public static readonly SliceScatterOp SliceScatter = new();

    /// <summary>Reshape.</summary>
    public static readonly ReshapeOp Reshape = new();

    /// <summary>Broadcast to a shape (expand).</summary>
    public static readonly BroadcastToOp BroadcastTo = new();
}
