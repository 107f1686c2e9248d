using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>
    /// Elements of <paramref name="x"/> at <paramref name="indices"/> (int32/int64 of any rank; int8/uint8 are widened;
    /// negative values count from the end) along <paramref name="axis"/>, like <c>numpy.take</c> / ONNX Gather: the result
    /// has shape <c>x.shape[:axis] + indices.shape + x.shape[axis+1:]</c>. Out-of-range indices throw <see cref="OpException"/>.
    /// </summary>
    public static Tensor Take(Tensor x, Tensor indices, int axis = 0)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(indices);
        int a = x.Shape.TryNormalizeAxis(axis);
        if (a < 0) throw new OpException("take", [x.Spec, indices.Spec], $"axis {axis} is out of range for rank {x.Rank}", LayerPath.Current);
        var idx = indices.DType is DType.Int8 or DType.UInt8 ? Cast(indices, DType.Int64) : indices;
        return Apply(OpSet.Take, new TakeAttrs(a), x, idx);
    }

    /// <summary>The slices of <paramref name="x"/> along <paramref name="axis"/> listed by the 1-D <paramref name="indices"/>
    /// (PyTorch's <c>index_select</c>).</summary>
    public static Tensor IndexSelect(Tensor x, int axis, Tensor indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Rank != 1)
            throw new OpException("take", [x.Spec, indices.Spec], $"index_select needs 1-D indices, got rank {indices.Rank}", LayerPath.Current);
        return Take(x, indices, axis);
    }

    /// <summary>Embedding lookup: rows of the 2-D <paramref name="weight"/> (<c>[vocabulary, dim]</c>) for the ids of any
    /// shape; the result has shape <c>ids.shape + [dim]</c>.</summary>
    public static Tensor Embedding(Tensor weight, Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(ids);
        if (weight.Rank != 2)
            throw new OpException("take", [weight.Spec, ids.Spec], $"embedding weight must be 2-D [vocabulary, dim], got rank {weight.Rank}", LayerPath.Current);
        return Take(weight, ids, 0);
    }
}
