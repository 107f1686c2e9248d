using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the math family (<c>OpSet.Math.cs</c>).</summary>
    private static void AddMath(LoweringTable t)
    {
        void Simple1(Op op, string onnx) => t.Add(op, c => Unary(c, (x, _) => c.Op(onnx, x)));
        // ORT implements the other trigonometric / hyperbolic ops in float32 only: float64 is computed from float64
        // kernels (Sin, Cos, Exp, Log, Sqrt) with formulas that keep double precision (series near 0 where a formula cancels).
        void Trig(Op op, string onnx, Func<LoweringContext, string, string> f64) =>
            t.Add(op, c => Unary(c, (x, dt) => dt == DType.Float64 ? f64(c, x) : c.Op(onnx, x)));
        string D(LoweringContext c, double v) => c.Scalar(v, DType.Float64);
        string Mul(LoweringContext c, params string[] xs) => xs.Skip(1).Aggregate(xs[0], (a, b) => c.Op("Mul", a, b));
        string Small(LoweringContext c, string x, string series, string exact) =>
            c.Op("Where", c.Op("Less", c.Op("Abs", x), D(c, 1e-4)), series, exact);
        string Cube(LoweringContext c, string x, double k) => Mul(c, x, x, x, D(c, k));
        // atan from float32 refined by one Newton step on sin(y) − x·cos(y) = 0 (error squared: double precision).
        string Atan64(LoweringContext c, string x)
        {
            var y0 = c.Cast(c.Op("Atan", c.Cast(x, DType.Float64, DType.Float32)), DType.Float32, DType.Float64);
            string s = c.Op("Sin", y0), co = c.Op("Cos", y0);
            var step = c.Op("Div", c.Op("Sub", s, c.Op("Mul", x, co)), c.Op("Add", co, c.Op("Mul", x, s)));
            var inf = c.Op("Equal", c.Op("Abs", x), D(c, double.PositiveInfinity));
            return c.Op("Where", inf, y0, c.Op("Sub", y0, step));
        }
        // asin x = 2·atan(x / (1 + √(1 − x²))), finite on [−1, 1].
        string Asin64(LoweringContext c, string x) =>
            c.Op("Mul", D(c, 2), Atan64(c, c.Op("Div", x, c.Op("Add", D(c, 1), c.Op("Sqrt", c.Op("Sub", D(c, 1), c.Op("Mul", x, x)))))));
        Simple1(OpSet.Cos, "Cos");
        Simple1(OpSet.Sin, "Sin");
        Trig(OpSet.Tan, "Tan", (c, x) => c.Op("Div", c.Op("Sin", x), c.Op("Cos", x)));
        Trig(OpSet.Atan, "Atan", Atan64);
        Trig(OpSet.Asin, "Asin", Asin64);
        Trig(OpSet.Acos, "Acos", (c, x) => c.Op("Sub", D(c, Math.PI / 2), Asin64(c, x)));
        Trig(OpSet.Sinh, "Sinh", (c, x) => Small(c, x, c.Op("Add", x, Cube(c, x, 1.0 / 6)),
            c.Op("Mul", c.Op("Sub", c.Op("Exp", x), c.Op("Exp", c.Op("Neg", x))), D(c, 0.5))));
        Trig(OpSet.Cosh, "Cosh", (c, x) => c.Op("Mul", c.Op("Add", c.Op("Exp", x), c.Op("Exp", c.Op("Neg", x))), D(c, 0.5)));
        // asinh x = sign(x)·log(|x| + √(x² + 1)).
        Trig(OpSet.Asinh, "Asinh", (c, x) =>
        {
            var a = c.Op("Abs", x);
            var exact = c.Op("Mul", c.Op("Sign", x), c.Op("Log", c.Op("Add", a, c.Op("Sqrt", c.Op("Add", c.Op("Mul", x, x), D(c, 1))))));
            return Small(c, x, c.Op("Sub", x, Cube(c, x, 1.0 / 6)), exact);
        });
        // acosh x = log(x + √((x − 1)(x + 1))).
        Trig(OpSet.Acosh, "Acosh", (c, x) =>
            c.Op("Log", c.Op("Add", x, c.Op("Sqrt", c.Op("Mul", c.Op("Sub", x, D(c, 1)), c.Op("Add", x, D(c, 1)))))));
        // atanh x = ½·log((1 + x)/(1 − x)).
        Trig(OpSet.Atanh, "Atanh", (c, x) => Small(c, x, c.Op("Add", x, Cube(c, x, 1.0 / 3)),
            c.Op("Mul", c.Op("Log", c.Op("Div", c.Op("Add", D(c, 1), x), c.Op("Sub", D(c, 1), x))), D(c, 0.5))));
        Simple1(OpSet.Floor, "Floor");
        Simple1(OpSet.Ceil, "Ceil");
        t.Add(OpSet.Round, c => Unary(c, (x, _) => c.Op("Round", x)));
        // ONNX Mod: fmod=1 is C's fmod for every dtype; fmod=0 (sign of the divisor) is defined for integers only, so a
        // floating remainder is fmod moved by b where the result's sign differs from b's.
        t.Add(OpSet.Fmod, c => Binary(c, (a, b, _) => c.Op("Mod", [a, b], OnnxAttr.Int("fmod", 1))));
        t.Add(OpSet.Remainder, c => Binary(c, (a, b, dt) =>
        {
            if (!dt.IsFloating()) return c.Op("Mod", [a, b], OnnxAttr.Int("fmod", 0));
            var r = c.Op("Mod", [a, b], OnnxAttr.Int("fmod", 1));
            var zero = c.Scalar(0, dt);
            var differ = c.Op("And", c.Op("Not", c.Op("Equal", r, zero)), c.Op("Xor", c.Op("Less", r, zero), c.Op("Less", b, zero)));
            return c.Op("Where", differ, c.Op("Add", r, b), r);
        }));
        t.Add(OpSet.Prod, (c, a) =>
        {
            var dt = c.InSpec(0).DType;
            // ORT multiplies float, double, int32 and int64.
            var cd = dt is DType.Float16 or DType.BFloat16 ? DType.Float32 : dt is DType.Int8 or DType.UInt8 ? DType.Int64 : dt;
            var attrs = new List<Proto.AttributeProto> { OnnxAttr.Int("keepdims", a.KeepDims ? 1 : 0) };
            if (a.Axes.Length > 0) attrs.Add(OnnxAttr.Ints("axes", a.Axes));
            Finish(c, 0, c.Op("ReduceProd", [c.Cast(c.In(0), dt, cd)], attrs.ToArray()), cd);
        });
        t.Add(OpSet.CumSum, (c, a) =>
        {
            var dt = c.InSpec(0).DType;
            var cd = dt is DType.Float16 or DType.BFloat16 ? DType.Float32 : dt is DType.Int8 or DType.UInt8 ? DType.Int64 : dt;
            var y = c.Op("CumSum", [c.Cast(c.In(0), dt, cd), c.Const(DType.Int64, [], BitConverter.GetBytes((long)a.Axis))],
                OnnxAttr.Int("exclusive", a.Exclusive ? 1 : 0), OnnxAttr.Int("reverse", a.Reverse ? 1 : 0));
            Finish(c, 0, y, cd);
        });
    }
}
