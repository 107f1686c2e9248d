using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>
    /// Matrix product with NumPy semantics: batch dimensions broadcast; a 1-D <paramref name="a"/> is a row vector and a
    /// 1-D <paramref name="b"/> a column vector, the added dimension being removed from the result (two 1-D operands give
    /// their dot product as a scalar). Operand dtypes are promoted.
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        if (a.Rank == 0 || b.Rank == 0)
            throw new OpException("matmul", [a.Spec, b.Spec], $"operands must have rank >= 1, got shapes {a.Shape} and {b.Shape}", LayerPath.Current);
        var dt = DTypes.Promote(a.DType, b.DType);
        var x = CastTo(a, dt);
        var y = CastTo(b, dt);
        bool vecA = x.Rank == 1, vecB = y.Rank == 1;
        // Check the contraction here so that the error names the shapes the caller passed, not the reshaped ones.
        if (x.Shape[-1] != y.Shape[vecB ? 0 : -2])
            throw new OpException("matmul", [a.Spec, b.Spec], $"inner dimensions differ: {a.Shape} @ {b.Shape} ({x.Shape[-1]} vs {y.Shape[vecB ? 0 : -2]})", LayerPath.Current);
        if (vecA) x = Reshape(x, 1, x.Shape[0]);
        if (vecB) y = Reshape(y, y.Shape[0], 1);
        var r = Apply(OpSet.MatMul, x, y);
        if (!vecA && !vecB) return r;
        var dims = r.Shape.ToArray().ToList();
        if (vecB) dims.RemoveAt(dims.Count - 1);
        if (vecA) dims.RemoveAt(dims.Count - (vecB ? 1 : 2));
        return Reshape(r, dims.ToArray());
    }

    /// <summary><c>x·Wᵀ + b</c> for x <c>[..., in]</c>, weight <c>[out, in]</c>, optional bias <c>[out]</c> (dtypes promoted).</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        var dt = DTypes.ToFloating(bias == null ? DTypes.Promote(x.DType, weight.DType) : DTypes.Promote(DTypes.Promote(x.DType, weight.DType), bias.DType));
        return bias == null
            ? Apply(OpSet.Linear, CastTo(x, dt), CastTo(weight, dt))
            : Apply(OpSet.Linear, OpAttrs.None, CastTo(x, dt), CastTo(weight, dt), CastTo(bias, dt));
    }
}
