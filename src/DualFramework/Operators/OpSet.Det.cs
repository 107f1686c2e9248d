using DualFramework.Autodiff;
using static DualFramework.Ops;

namespace DualFramework.Operators;

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
