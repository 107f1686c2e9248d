using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>cos x (integer operands are computed in float32).</summary>
    public static Tensor Cos(Tensor x) => FloatUnary(OpSet.Cos, x);
    /// <summary>sin x.</summary>
    public static Tensor Sin(Tensor x) => FloatUnary(OpSet.Sin, x);
    /// <summary>tan x.</summary>
    public static Tensor Tan(Tensor x) => FloatUnary(OpSet.Tan, x);
    /// <summary>arcsin x (NaN outside [−1, 1]).</summary>
    public static Tensor Asin(Tensor x) => FloatUnary(OpSet.Asin, x);
    /// <summary>arccos x (NaN outside [−1, 1]).</summary>
    public static Tensor Acos(Tensor x) => FloatUnary(OpSet.Acos, x);
    /// <summary>arctan x.</summary>
    public static Tensor Atan(Tensor x) => FloatUnary(OpSet.Atan, x);
    /// <summary>sinh x.</summary>
    public static Tensor Sinh(Tensor x) => FloatUnary(OpSet.Sinh, x);
    /// <summary>cosh x.</summary>
    public static Tensor Cosh(Tensor x) => FloatUnary(OpSet.Cosh, x);
    /// <summary>arsinh x.</summary>
    public static Tensor Asinh(Tensor x) => FloatUnary(OpSet.Asinh, x);
    /// <summary>arcosh x (NaN below 1).</summary>
    public static Tensor Acosh(Tensor x) => FloatUnary(OpSet.Acosh, x);
    /// <summary>artanh x (NaN outside [−1, 1], ±∞ at ±1).</summary>
    public static Tensor Atanh(Tensor x) => FloatUnary(OpSet.Atanh, x);
    /// <summary>⌊x⌋ (integer operands are converted to float32).</summary>
    public static Tensor Floor(Tensor x) => FloatUnary(OpSet.Floor, x);
    /// <summary>⌈x⌉.</summary>
    public static Tensor Ceil(Tensor x) => FloatUnary(OpSet.Ceil, x);
    /// <summary>x rounded to the nearest integer, halves to even.</summary>
    public static Tensor Round(Tensor x) => FloatUnary(OpSet.Round, x);

    /// <summary>a mod b with the sign of the divisor (Python's %): a − b·⌊a/b⌋. Operands are promoted to one dtype.</summary>
    public static Tensor Remainder(Tensor a, Tensor b) => Binary(OpSet.Remainder, a, b);
    /// <summary>a mod b with the sign of the dividend (C's fmod): a − b·trunc(a/b). Operands are promoted to one dtype.</summary>
    public static Tensor Fmod(Tensor a, Tensor b) => Binary(OpSet.Fmod, a, b);

    /// <summary>Product over <paramref name="axes"/> (null: all); the result keeps the operand's dtype.</summary>
    public static Tensor Prod(Tensor x, int[]? axes = null, bool keepDims = false) => Apply(OpSet.Prod, Reduce("prod", x, axes, keepDims), x);

    /// <summary>Cumulative sum along <paramref name="axis"/> (negative counts from the end). <paramref name="exclusive"/>:
    /// each element excludes itself; <paramref name="reverse"/>: sums run from the end of the axis.</summary>
    /// <exception cref="OpException">The axis is out of range.</exception>
    public static Tensor CumSum(Tensor x, int axis, bool exclusive = false, bool reverse = false)
    {
        int a = x.Shape.TryNormalizeAxis(axis);
        if (a < 0) throw new OpException("cumsum", [x.Spec], $"axis {axis} is out of range for rank {x.Rank}", LayerPath.Current);
        return Apply(OpSet.CumSum, new CumSumAttrs(a, exclusive, reverse), x);
    }
}
