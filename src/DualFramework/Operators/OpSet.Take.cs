using DualFramework.Autodiff;
using static DualFramework.Ops;

namespace DualFramework.Operators;

/// <summary>The axis that <c>take</c> indexes (normalised, 0 ≤ axis &lt; rank).</summary>
/// <param name="Axis">Indexed axis of the data operand.</param>
public sealed record TakeAttrs(int Axis) : OpAttrs;

/// <summary>
/// <c>take(x, indices)</c> along an axis (ONNX Gather, <c>numpy.take</c>): indices are int32/int64 of any rank, negative
/// ones count from the end; the output has shape <c>x.shape[:axis] + indices.shape + x.shape[axis+1:]</c>. Index values
/// outside [−n, n) are rejected by the backend (with an <see cref="OpException"/>) before any kernel reads memory.
/// Differentiable with respect to x (repeated indices accumulate); indices get no gradient.
/// </summary>
public sealed class TakeOp : Op<TakeAttrs>
{
    internal TakeOp() : base("take") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, TakeAttrs attrs)
    {
        Arity(inputs, 2);
        var (x, idx) = (inputs[0], inputs[1]);
        if (x.Shape.Rank == 0) throw Fail(inputs, "cannot take from a rank-0 tensor");
        if (idx.DType is not (DType.Int32 or DType.Int64)) throw Fail(inputs, $"indices must be int32 or int64, got {idx.DType.Name()}");
        if (attrs.Axis < 0 || attrs.Axis >= x.Shape.Rank) throw Fail(inputs, $"axis {attrs.Axis} is out of range for rank {x.Shape.Rank}");
        return One(OutputShape(x.Shape, idx.Shape, attrs.Axis), x.DType);
    }

    internal static Shape OutputShape(Shape x, Shape idx, int axis)
    {
        var dims = new List<long>(x.Rank + idx.Rank - 1);
        dims.AddRange(x.Dims[..axis].ToArray());
        dims.AddRange(idx.Dims.ToArray());
        dims.AddRange(x.Dims[(axis + 1)..].ToArray());
        return Shape.Own(dims.ToArray());
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        if (!ctx.NeedsGrad(0)) return [null, null];
        Tensor x = ctx.Inputs[0], idx = ctx.Inputs[1];
        int axis = ctx.AttrsAs<TakeAttrs>().Axis;
        return [Adjoint(ctx.Grad, idx, axis, x.Shape[axis]), null];
    }

    /// <summary>The adjoint of <c>take(x, idx, axis)</c> for an x of size <paramref name="n"/> along the axis: g's
    /// positions scatter-added into zeros at the indices they were taken from (repeated indices accumulate).</summary>
    internal static Tensor Adjoint(Tensor g, Tensor idx, int axis, long n)
    {
        long k = idx.NumElements;
        long pre = 1, post = 1;
        for (int i = 0; i < axis; i++) pre *= g.Shape[i];
        for (int i = axis + idx.Rank; i < g.Rank; i++) post *= g.Shape[i];
        // gx[p, idx_j, q] += g[p, j, q].
        var flat = Reshape(idx.DType == DType.Int64 ? idx : Cast(idx, DType.Int64), 1, k, 1);
        flat = Where(Less(flat, 0.0), Add(flat, n), flat);
        var index = BroadcastTo(flat, new Shape(pre, k, post));
        var gx = ScatterAdd(Zeros(new Shape(pre, n, post), g.DType, g.Backend), index, Reshape(g, pre, k, post), 1);
        var dims = g.Shape.ToArray()[..axis].Append(n).Concat(g.Shape.ToArray()[(axis + idx.Rank)..]).ToArray();
        return Reshape(gx, dims);
    }
}

public static partial class OpSet
{
    /// <summary>Gather along an axis with an index tensor (index_select, embedding lookup).</summary>
    public static readonly TakeOp Take = new();
}
