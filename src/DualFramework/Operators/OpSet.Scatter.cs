using DualFramework.Autodiff;
using static DualFramework.Ops;

namespace DualFramework.Operators;

/// <summary>The axis along which gather_elements / scatter_add index (normalised, 0 ≤ axis &lt; rank).</summary>
/// <param name="Axis">The indexed axis.</param>
public sealed record IndexAxisAttrs(int Axis) : OpAttrs;

/// <summary>
/// <c>gather_elements(x, index)</c> (torch.gather): <c>out[i…] = x[i…]</c> with the index along <c>axis</c> replaced by
/// <c>index[i…]</c>. <c>index</c> is int64 with the rank of <c>x</c>, no larger than <c>x</c> off the axis; the output has
/// the index's shape and x's dtype. Index values must lie in <c>[0, x.shape[axis])</c> (checked by the backend).
/// </summary>
public sealed class GatherElementsOp : Op<IndexAxisAttrs>
{
    internal GatherElementsOp() : base("gather_elements") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, IndexAxisAttrs attrs)
    {
        Arity(inputs, 2);
        Shape x = inputs[0].Shape, idx = inputs[1].Shape;
        if (inputs[1].DType != DType.Int64) throw Fail(inputs, $"index must be int64, got {inputs[1].DType.Name()}");
        if (x.Rank == 0) throw Fail(inputs, "operand must have rank >= 1");
        if (idx.Rank != x.Rank) throw Fail(inputs, $"index rank {idx.Rank} differs from operand rank {x.Rank}");
        int axis = Axis(inputs, attrs.Axis, x.Rank);
        for (int i = 0; i < x.Rank; i++)
            if (i != axis && idx[i] > x[i])
                throw Fail(inputs, $"index size {idx[i]} exceeds operand size {x[i]} along axis {i}");
        return One(idx, inputs[0].DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        var axis = ctx.AttrsAs<IndexAxisAttrs>().Axis;
        return [ctx.NeedsGrad(0) ? ScatterAdd(ZerosLike(ctx.Inputs[0]), ctx.Inputs[1], ctx.Grad, axis) : null, null];
    }
}

/// <summary>
/// <c>scatter_add(base, index, src)</c> (out-of-place torch.scatter_add): a copy of <c>base</c> to which each
/// <c>src[i…]</c> with <c>i…</c> inside <c>index</c>'s shape is added at the position whose coordinate along <c>axis</c>
/// is <c>index[i…]</c>. <c>index</c> is int64, all three have one rank, <c>index</c> is no larger than <c>src</c> and no
/// larger than <c>base</c> off the axis. Index values must lie in <c>[0, base.shape[axis])</c> (checked by the backend).
/// </summary>
public sealed class ScatterAddOp : Op<IndexAxisAttrs>
{
    internal ScatterAddOp() : base("scatter_add") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, IndexAxisAttrs attrs)
    {
        Arity(inputs, 3);
        Shape b = inputs[0].Shape, idx = inputs[1].Shape, src = inputs[2].Shape;
        if (inputs[1].DType != DType.Int64) throw Fail(inputs, $"index must be int64, got {inputs[1].DType.Name()}");
        if (inputs[0].DType != inputs[2].DType)
            throw Fail(inputs, $"base and source dtypes differ ({inputs[0].DType.Name()} vs {inputs[2].DType.Name()}); promote them first");
        if (inputs[0].DType == DType.Bool) throw Fail(inputs, "bool operands are not supported; cast them first");
        if (b.Rank == 0) throw Fail(inputs, "base must have rank >= 1");
        if (idx.Rank != b.Rank || src.Rank != b.Rank)
            throw Fail(inputs, $"base, index and source must have one rank, got {b.Rank}, {idx.Rank} and {src.Rank}");
        int axis = Axis(inputs, attrs.Axis, b.Rank);
        for (int i = 0; i < b.Rank; i++)
        {
            if (idx[i] > src[i]) throw Fail(inputs, $"index size {idx[i]} exceeds source size {src[i]} along axis {i}");
            if (i != axis && idx[i] > b[i]) throw Fail(inputs, $"index size {idx[i]} exceeds base size {b[i]} along axis {i}");
        }
        return One(b, inputs[0].DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        var axis = ctx.AttrsAs<IndexAxisAttrs>().Axis;
        Tensor index = ctx.Inputs[1], src = ctx.Inputs[2], g = ctx.Grad;
        Tensor? gs = null;
        if (ctx.NeedsGrad(2))
        {
            gs = GatherElements(g, index, axis);
            // Source elements outside the index's extent are never read: their gradient is zero.
            if (gs.Shape != src.Shape)
            {
                int r = src.Rank;
                var all = new SliceAttrs(Enumerable.Range(0, r).ToArray(), new long[r], index.Shape.ToArray(), Enumerable.Repeat(1L, r).ToArray());
                gs = SliceScatter(ZerosLike(src), gs, all);
            }
        }
        return [ctx.NeedsGrad(0) ? g : null, null, gs];
    }
}

public static partial class OpSet
{
    /// <summary>Element-wise gather along an axis (torch.gather).</summary>
    public static readonly GatherElementsOp GatherElements = new();

    /// <summary>Out-of-place scatter-add along an axis (torch.scatter_add).</summary>
    public static readonly ScatterAddOp ScatterAdd = new();
}
