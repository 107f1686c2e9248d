using DualFramework.Autodiff;

namespace DualFramework.Operators;

/// <summary>
/// Batched matrix product <c>a[..., M, K] @ b[..., K, N] → [..., M, N]</c>; the batch dimensions broadcast (NumPy rules).
/// Both operands must have rank ≥ 2 and one numeric dtype (<see cref="DualFramework.Ops.MatMul"/> handles 1-D operands
/// and promotion).
/// </summary>
public sealed class MatMulOp : Op
{
    internal MatMulOp() : base("matmul") { }

    /// <inheritdoc />
    public override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, OpAttrs attrs)
    {
        Arity(inputs, 2);
        Shape a = inputs[0].Shape, b = inputs[1].Shape;
        if (inputs[0].DType != inputs[1].DType)
            throw Fail(inputs, $"operand dtypes differ ({inputs[0].DType.Name()} vs {inputs[1].DType.Name()}); promote them first");
        if (inputs[0].DType == DType.Bool) throw Fail(inputs, "bool operands are not supported; cast them first");
        if (a.Rank < 2 || b.Rank < 2) throw Fail(inputs, $"operands need rank >= 2, got shapes {a} and {b}");
        if (a[-1] != b[-2])
            throw Fail(inputs, $"inner dimensions differ: {a} @ {b} ({a[-1]} vs {b[-2]})");
        var batchA = Shape.Own(a.Dims[..^2].ToArray());
        var batchB = Shape.Own(b.Dims[..^2].ToArray());
        if (!Shape.TryBroadcast(batchA, batchB, out var batch))
            throw Fail(inputs, $"batch dimensions of {a} and {b} cannot be broadcast together");
        return One(Shape.Own([.. batch.Dims, a[-2], b[-1]]), inputs[0].DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        Tensor a = ctx.Inputs[0], b = ctx.Inputs[1], g = ctx.Grad;
        return
        [
            ctx.NeedsGrad(0) ? Ops.SumToShape(Ops.MatMul(g, Ops.Transpose(b)), a.Shape) : null,
            ctx.NeedsGrad(1) ? Ops.SumToShape(Ops.MatMul(Ops.Transpose(a), g), b.Shape) : null,
        ];
    }
}

public static partial class OpSet
{
    /// <summary>Batched matrix product with broadcast batch dimensions.</summary>
    public static readonly MatMulOp MatMul = new();
}
