using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    private static ReduceAttrs Reduce(string op, Tensor x, int[]? axes, bool keepDims)
    {
        if (axes == null || axes.Length == 0) return new ReduceAttrs([], keepDims);
        var norm = new int[axes.Length];
        for (int i = 0; i < axes.Length; i++)
        {
            int a = x.Shape.TryNormalizeAxis(axes[i]);
            if (a < 0) throw new OpException(op, [x.Spec], $"axis {axes[i]} is out of range for rank {x.Rank}", LayerPath.Current);
            norm[i] = a;
        }
        Array.Sort(norm);
        for (int i = 1; i < norm.Length; i++)
            if (norm[i] == norm[i - 1]) throw new OpException(op, [x.Spec], $"axis {norm[i]} repeated", LayerPath.Current);
        return new ReduceAttrs(norm, keepDims);
    }

    /// <summary>Sum over <paramref name="axes"/> (null: all).</summary>
    public static Tensor Sum(Tensor x, int[]? axes = null, bool keepDims = false) => Apply(OpSet.Sum, Reduce("sum", x, axes, keepDims), x);
    /// <summary>Sum over one axis.</summary>
    public static Tensor Sum(Tensor x, int axis, bool keepDims = false) => Sum(x, [axis], keepDims);
    /// <summary>Mean over <paramref name="axes"/> (null: all); integer inputs give float32.</summary>
    public static Tensor Mean(Tensor x, int[]? axes = null, bool keepDims = false) =>
        Apply(OpSet.Mean, Reduce("mean", x, axes, keepDims), CastTo(x, DTypes.ToFloating(x.DType)));
    /// <summary>Mean over one axis.</summary>
    public static Tensor Mean(Tensor x, int axis, bool keepDims = false) => Mean(x, [axis], keepDims);
    /// <summary>Maximum over <paramref name="axes"/> (null: all).</summary>
    public static Tensor Max(Tensor x, int[]? axes = null, bool keepDims = false) => Apply(OpSet.Max, Reduce("max", x, axes, keepDims), x);
    /// <summary>Maximum over one axis.</summary>
    public static Tensor Max(Tensor x, int axis, bool keepDims = false) => Max(x, [axis], keepDims);
    /// <summary>Minimum over <paramref name="axes"/> (null: all).</summary>
    public static Tensor Min(Tensor x, int[]? axes = null, bool keepDims = false) => Apply(OpSet.Min, Reduce("min", x, axes, keepDims), x);
    /// <summary>Minimum over one axis.</summary>
    public static Tensor Min(Tensor x, int axis, bool keepDims = false) => Min(x, [axis], keepDims);

    private static ArgReduceAttrs ArgReduce(string op, Tensor x, int? axis, bool keepDims)
    {
        if (axis is not { } a) return new ArgReduceAttrs(null, keepDims);
        int n = x.Shape.TryNormalizeAxis(a);
        if (n < 0) throw new OpException(op, [x.Spec], $"axis {a} is out of range for rank {x.Rank}", LayerPath.Current);
        return new ArgReduceAttrs(n, keepDims);
    }

    /// <summary>Index (int64) of the maximum along <paramref name="axis"/>, or the row-major index into the flattened tensor
    /// when <paramref name="axis"/> is null. Ties give the first index. Not differentiable.</summary>
    /// <param name="x">A numeric (non-bool) tensor.</param>
    /// <param name="axis">The reduced axis (negative counts from the end), or null for all elements.</param>
    /// <param name="keepDims">Keep the reduced axis (every axis when <paramref name="axis"/> is null) as size 1.</param>
    public static Tensor ArgMax(Tensor x, int? axis = null, bool keepDims = false) => Apply(OpSet.ArgMax, ArgReduce("argmax", x, axis, keepDims), x);

    /// <summary>Index (int64) of the minimum along <paramref name="axis"/>, or the row-major index into the flattened tensor
    /// when <paramref name="axis"/> is null. Ties give the first index. Not differentiable.</summary>
    /// <param name="x">A numeric (non-bool) tensor.</param>
    /// <param name="axis">The reduced axis (negative counts from the end), or null for all elements.</param>
    /// <param name="keepDims">Keep the reduced axis (every axis when <paramref name="axis"/> is null) as size 1.</param>
    public static Tensor ArgMin(Tensor x, int? axis = null, bool keepDims = false) => Apply(OpSet.ArgMin, ArgReduce("argmin", x, axis, keepDims), x);
}
