using DualFramework.Autodiff;
using static DualFramework.Ops;

namespace DualFramework.Operators;

/// <summary>Attributes of <c>topk</c>.</summary>
/// <param name="K">How many elements to keep along the axis (0 ≤ K ≤ its size).</param>
/// <param name="Axis">The axis (normalised, 0 ≤ axis &lt; rank).</param>
/// <param name="Largest">True for the K largest elements, false for the K smallest.</param>
/// <param name="Sorted">True to return them in order (largest first, or smallest first); false leaves the order to the
/// backend.</param>
public sealed record TopKAttrs(long K, int Axis, bool Largest, bool Sorted) : OpAttrs;

/// <summary>
/// <c>topk(x)</c> (torch.topk, ONNX TopK): the K largest (or smallest) elements of each line along an axis and their int64
/// positions. Outputs: values (x's dtype) and indices, both shaped as x with the axis of size K.
/// </summary>
/// <remarks>Each kept element is a copy of one input element, so the gradient scatters the values' gradient back to the
/// positions the indices name (distinct within a line) and is zero elsewhere.</remarks>
public sealed class TopKOp : Op<TopKAttrs>
{
    internal TopKOp() : base("topk") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, TopKAttrs attrs)
    {
        Arity(inputs, 1);
        var x = inputs[0];
        if (x.Shape.Rank == 0) throw Fail(inputs, "operand must have rank >= 1");
        if (x.DType == DType.Bool) throw Fail(inputs, "bool operands are not supported");
        int axis = Axis(inputs, attrs.Axis, x.Shape.Rank);
        if (attrs.K < 0 || attrs.K > x.Shape[axis])
            throw Fail(inputs, $"k = {attrs.K} must lie in [0, {x.Shape[axis]}] (the size of axis {axis})");
        var dims = x.Shape.ToArray();
        dims[axis] = attrs.K;
        var shape = Shape.Own(dims);
        return [new TensorSpec(shape, x.DType), new TensorSpec(shape, DType.Int64)];
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        if (!ctx.NeedsGrad(0)) return [null];
        var axis = ctx.AttrsAs<TopKAttrs>().Axis;
        return [ScatterAdd(ZerosLike(ctx.Inputs[0]), ctx.Outputs[1], ctx.Grad, axis)];
    }
}

public static partial class OpSet
{
    /// <summary>The K largest or smallest elements along an axis, with their positions.</summary>
    public static readonly TopKOp TopK = new();
}
