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
}
