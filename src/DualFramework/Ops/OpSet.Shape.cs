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

public static partial class OpSet
{
    /// <summary>Reshape.</summary>
    public static readonly ReshapeOp Reshape = new();

    /// <summary>Broadcast to a shape (expand).</summary>
    public static readonly BroadcastToOp BroadcastTo = new();
}
