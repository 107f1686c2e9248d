using DualFramework.Autodiff;
using static DualFramework.Ops;

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

/// <summary>
/// The affine map of a fully connected layer: <c>y = x·Wᵀ + b</c> for x <c>[..., in]</c>, W <c>[out, in]</c> and an optional
/// bias <c>[out]</c> (third operand). One op rather than transpose + matmul + add so that backends use their fused kernel
/// (libtorch <c>addmm</c>, ONNX <c>Gemm</c>) and produce contiguous weight gradients.
/// </summary>
public sealed class LinearOp : Op
{
    internal LinearOp() : base("linear") { }

    /// <inheritdoc />
    public override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, OpAttrs attrs)
    {
        if (inputs.Length is not (2 or 3)) throw Fail(inputs, $"expects input, weight and an optional bias, got {inputs.Length} operands");
        TensorSpec x = inputs[0], w = inputs[1];
        if (!x.DType.IsFloating()) throw Fail(inputs, $"needs floating operands, got {x.DType.Name()}");
        for (int i = 1; i < inputs.Length; i++)
            if (inputs[i].DType != x.DType) throw Fail(inputs, "input, weight and bias dtypes differ; promote them first");
        if (x.Shape.Rank < 1) throw Fail(inputs, "input must have rank >= 1");
        if (w.Shape.Rank != 2) throw Fail(inputs, $"weight must be [out, in], got {w.Shape}");
        if (x.Shape[-1] != w.Shape[1]) throw Fail(inputs, $"input features {x.Shape[-1]} differ from weight in_features {w.Shape[1]}");
        if (inputs.Length == 3 && (inputs[2].Shape.Rank != 1 || inputs[2].Shape[0] != w.Shape[0]))
            throw Fail(inputs, $"bias must be [{w.Shape[0]}], got {inputs[2].Shape}");
        var dims = x.Shape.ToArray();
        dims[^1] = w.Shape[0];
        return One(Shape.Own(dims), x.DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        Tensor x = ctx.Inputs[0], w = ctx.Inputs[1], g = ctx.Grad;
        long outF = w.Shape[0], inF = w.Shape[1];
        var grads = new Tensor?[ctx.Inputs.Count];
        if (ctx.NeedsGrad(0)) grads[0] = Ops.MatMul(g, w);
        if (ctx.NeedsGrad(1) || (grads.Length == 3 && ctx.NeedsGrad(2)))
        {
            var g2 = Ops.Reshape(g, -1, outF);
            if (ctx.NeedsGrad(1)) grads[1] = Ops.MatMul(Ops.Transpose(g2), Ops.Reshape(x, -1, inF));
            if (grads.Length == 3 && ctx.NeedsGrad(2)) grads[2] = Ops.Sum(g2, 0);
        }
        return grads;
    }
}

public static partial class OpSet
{
    /// <summary>Batched matrix product with broadcast batch dimensions.</summary>
    public static readonly MatMulOp MatMul = new();

    /// <summary>Fully connected affine map x·Wᵀ + b.</summary>
    public static readonly LinearOp Linear = new();
}


/// <summary>
/// <c>det(x)</c> (torch.linalg.det, ONNX Det): the determinant of each square matrix in the last two axes of a floating
/// tensor <c>[..., n, n]</c> (n ≥ 1); the result has shape <c>[...]</c>. Half precision is computed in float32 and rounded
/// once.
/// </summary>
/// <remarks>The gradient is the cofactor matrix, d det(x) / d x[i, j] = (−1)^(i+j) det(minor(i, j)), built from the
/// minors (two takes) and det itself. Unlike det · inverse(x)ᵀ it needs no inverse (which ONNX lacks), holds for singular
/// matrices, and is differentiable again.</remarks>
public sealed class DetOp : Op
{
    internal DetOp() : base("det") { }

    /// <inheritdoc />
    public override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, OpAttrs attrs)
    {
        Arity(inputs, 1);
        var x = inputs[0];
        int r = x.Shape.Rank;
        if (!x.DType.IsFloating()) throw Fail(inputs, $"operand must be floating, got {x.DType.Name()}");
        if (r < 2 || x.Shape[r - 1] != x.Shape[r - 2]) throw Fail(inputs, $"operand must be [..., n, n] (square matrices), got {x.Shape}");
        if (x.Shape[r - 1] < 1) throw Fail(inputs, "matrices must have at least one row");
        return One(Shape.Own(x.Shape.ToArray()[..^2]), x.DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        if (!ctx.NeedsGrad(0)) return [null];
        Tensor x = ctx.Inputs[0], g = Unsqueeze(Unsqueeze(ctx.Grad, -1), -1);
        int r = x.Rank;
        long n = x.Shape[r - 1];
        if (n == 1) return [g];
        // others[i] = the n − 1 row (or column) positions other than i.
        var others = new long[n * (n - 1)];
        var sign = new double[n * n];
        for (long i = 0; i < n; i++)
        {
            for (long j = 0, k = 0; j < n; j++)
            {
                if (j != i) others[i * (n - 1) + k++] = j;
                sign[i * n + j] = (i + j) % 2 == 0 ? 1 : -1;
            }
        }
        var idx = Tensor.FromArray(others, new Shape(n, n - 1), x.Backend);
        // [..., n, n] → [..., i, n−1, n] → [..., i, n−1, j, n−1] → [..., i, j, n−1, n−1]
        var minors = Take(Take(x, idx, r - 2), idx, r);
        var perm = Enumerable.Range(0, r - 2).Concat([r - 2, r, r - 1, r + 1]).ToArray();
        var cofactors = Mul(Det(Permute(minors, perm)), Cast(Tensor.FromArray(sign, new Shape(n, n), x.Backend), x.DType));
        return [Mul(g, cofactors)];
    }
}

public static partial class OpSet
{
    /// <summary>Determinants of square matrices.</summary>
    public static readonly DetOp Det = new();
}
