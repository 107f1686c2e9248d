using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>Math ops backed by the op set's math family (trigonometric, rounding, Mod, ReduceProd, CumSum) and the
        /// NaN / infinity tests (comparisons).</summary>
        private void AddMath()
        {
            Map("Cos", _ => Un(OpSet.Cos, Float(In(0))));
            Map("Sin", _ => Un(OpSet.Sin, Float(In(0))));
            Map("Tan", _ => Un(OpSet.Tan, Float(In(0))));
            Map("Acos", _ => Un(OpSet.Acos, Float(In(0))));
            Map("Asin", _ => Un(OpSet.Asin, Float(In(0))));
            Map("Atan", _ => Un(OpSet.Atan, Float(In(0))));
            Map("Cosh", _ => Un(OpSet.Cosh, Float(In(0))));
            Map("Sinh", _ => Un(OpSet.Sinh, Float(In(0))));
            Map("Acosh", _ => Un(OpSet.Acosh, Float(In(0))));
            Map("Asinh", _ => Un(OpSet.Asinh, Float(In(0))));
            Map("Atanh", _ => Un(OpSet.Atanh, Float(In(0))));
            Map("Floor", _ => Un(OpSet.Floor, Float(In(0))));
            Map("Ceil", _ => Un(OpSet.Ceil, Float(In(0))));
            Map("Round", _ => Un(OpSet.Round, Float(In(0))));
            Map("IsNaN", _ => { var x = Float(In(0)); return Bin(OpSet.NotEqual, x, x); });
            Map("IsInf", _ =>
            {
                var x = Float(In(0));
                bool neg = Int("detect_negative", 1) != 0, pos = Int("detect_positive", 1) != 0;
                Value? y = null;
                if (pos) y = Bin(OpSet.Equal, x, Sc(double.PositiveInfinity, x));
                if (neg) { var n = Bin(OpSet.Equal, x, Sc(double.NegativeInfinity, x)); y = y == null ? n : Bin(OpSet.LogicalOr, y, n); }
                return y ?? Filled(x.Spec.Shape.ToArray(), 0, DType.Bool);
            });
            Map("Mod", _ =>
            {
                Value a = In(0), b = In(1);
                if (a.Spec.DType == DType.Bool) throw Bad("bool inputs are not supported");
                return Bin(Int("fmod", 0) != 0 ? OpSet.Fmod : OpSet.Remainder, a, b);
            });
            Map("ReduceProd", _ => Reduce(OpSet.Prod, In(0)));
            Map("CumSum", _ =>
            {
                var x = In(0);
                var axis = ConstInts(1) is [var a] ? a : throw Bad("axis must be a scalar");
                var attrs = new CumSumAttrs(Axis(axis, x.Spec.Shape.Rank), Int("exclusive", 0) != 0, Int("reverse", 0) != 0);
                return Node(OpSet.CumSum, attrs, x);
            });
            Map("BitShift", _ =>
            {
                Value x = In(0), by = In(1);
                // ONNX shifts unsigned integers only; uint8 is the one DualFramework has. In float64, x·2^k and
                // floor(x / 2^k) are exact (power-of-two scaling), and mod 256 drops the bits shifted out.
                if (x.Spec.DType != DType.UInt8 || by.Spec.DType != DType.UInt8) throw Bad($"{x.Spec.DType.Name()} inputs are not supported (uint8 only)");
                string dir = Str("direction", "");
                var (xf, pow) = (CastTo(x, DType.Float64), Bin(OpSet.Pow, Scalar(2, DType.Float64), CastTo(by, DType.Float64)));
                var y = dir switch
                {
                    "LEFT" => Bin(OpSet.Remainder, Bin(OpSet.Mul, xf, pow), Scalar(256, DType.Float64)),
                    "RIGHT" => Un(OpSet.Floor, Bin(OpSet.Div, xf, pow)),
                    _ => throw Bad($"direction '{dir}' is not supported (LEFT or RIGHT)"),
                };
                return CastTo(y, DType.UInt8);
            });
        }
    }
}
