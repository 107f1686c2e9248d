using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the elementwise family (<c>OpSet.Elementwise.cs</c>).</summary>
    private static void AddElementwise(LoweringTable t)
    {
        void Simple1(Op op, string onnx, bool smallInts = true) => t.Add(op, c => Unary(c, (x, _) => c.Op(onnx, x), smallInts));
        void Simple2(Op op, string onnx, bool smallInts = true) => t.Add(op, c => Binary(c, (a, b, _) => c.Op(onnx, a, b), smallInts));
        Simple1(OpSet.Neg, "Neg");
        Simple1(OpSet.Abs, "Abs");
        Simple1(OpSet.Sign, "Sign");
        Simple1(OpSet.Exp, "Exp");
        Simple1(OpSet.Log, "Log");
        Simple1(OpSet.Sqrt, "Sqrt");
        Simple1(OpSet.Tanh, "Tanh");
        Simple1(OpSet.Sigmoid, "Sigmoid");
        Simple1(OpSet.Erf, "Erf");
        t.Add(OpSet.Rsqrt, c => Unary(c, (x, _) => c.Op("Reciprocal", c.Op("Sqrt", x))));
        t.Add(OpSet.Relu, c => Unary(c, (x, dt) => dt.IsFloating() ? c.Op("Relu", x) : c.Op("Max", x, c.Scalar(0, dt))));
        t.Add(OpSet.LeakyRelu, c => Unary(c, (x, dt) =>
        {
            var alpha = c.Attrs<LeakyReluAttrs>().Alpha;
            return c.Op("Where", c.Op("Greater", x, c.Scalar(0, dt)), x, c.Op("Mul", x, c.Scalar(alpha, dt)));
        }));
        // ONNX Gelu is opset 20: decompose. Exact: x·Φ(x) = ½x(1 + erf(x/√2)); tanh form: ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
        t.Add(OpSet.Gelu, c => Unary(c, (x, dt) =>
        {
            string inner;
            if (c.Attrs<GeluAttrs>().Approximation == GeluApproximation.Tanh)
            {
                var cube = c.Op("Mul", c.Op("Mul", x, x), x);
                var arg = c.Op("Mul", c.Op("Add", x, c.Op("Mul", cube, c.Scalar(0.044715, dt))), c.Scalar(Math.Sqrt(2 / Math.PI), dt));
                inner = c.Op("Tanh", arg);
            }
            else inner = c.Op("Erf", c.Op("Mul", x, c.Scalar(1 / Math.Sqrt(2), dt)));
            return c.Op("Mul", c.Op("Mul", x, c.Scalar(0.5, dt)), c.Op("Add", inner, c.Scalar(1, dt)));
        }));
        // PyTorch softplus: x where βx > threshold, else log(1 + e^(βx))/β.
        t.Add(OpSet.Softplus, c => Unary(c, (x, dt) =>
        {
            var a = c.Attrs<SoftplusAttrs>();
            var bx = a.Beta == 1 ? x : c.Op("Mul", x, c.Scalar(a.Beta, dt));
            var sp = c.Op("Softplus", bx);
            if (a.Beta != 1) sp = c.Op("Div", sp, c.Scalar(a.Beta, dt));
            return c.Op("Where", c.Op("Greater", bx, c.Scalar(a.Threshold, dt)), x, sp);
        }));
        // Clip with optional bounds: an infinite bound is an omitted input. Bounds convert to the dtype as the torch kernel does.
        t.Add(OpSet.Clamp, c => Unary(c, (x, dt) =>
        {
            var a = c.Attrs<ClampAttrs>();
            bool lo = !double.IsNegativeInfinity(a.Min), hi = !double.IsPositiveInfinity(a.Max);
            if (!lo && !hi) return c.Op("Identity", x);
            var origin = c.InSpec(0).DType;
            // Integer bounds truncate in the operand's own dtype before widening.
            double Conv(double v) => origin.IsInteger() ? ToLong(v, origin) : v;
            return c.Op("Clip", [x, lo ? c.Scalar(Conv(a.Min), dt) : "", hi ? c.Scalar(Conv(a.Max), dt) : ""]);
        }));
        t.Add(OpSet.LogicalNot, c => c.Result(0, "Not", [c.In(0)]));
        t.Add(OpSet.StopGradient, c => c.Result(0, "Identity", [c.In(0)]));
        t.Add(OpSet.Cast, c =>
        {
            DType from = c.InSpec(0).DType, to = c.OutSpec(0).DType;
            if (from == to) c.Result(0, "Identity", [c.In(0)]);
            // ORT has no direct casts between bfloat16 and most types: go through float32.
            else if ((from == DType.BFloat16 || to == DType.BFloat16) && from != DType.Float32 && to != DType.Float32)
                c.Result(0, "Cast", [c.Cast(c.In(0), from, DType.Float32)], OnnxAttr.Int("to", (long)OnnxTypes.ToOnnx(to)));
            else c.Result(0, "Cast", [c.In(0)], OnnxAttr.Int("to", (long)OnnxTypes.ToOnnx(to)));
        });
        Simple2(OpSet.Add, "Add");
        Simple2(OpSet.Sub, "Sub");
        Simple2(OpSet.Mul, "Mul");
        Simple2(OpSet.Div, "Div");
        Simple2(OpSet.Pow, "Pow");
        Simple2(OpSet.Maximum, "Max");
        Simple2(OpSet.Minimum, "Min");
        Simple2(OpSet.Equal, "Equal");
        t.Add(OpSet.NotEqual, c => Binary(c, (a, b, _) => c.Op("Not", c.Op("Equal", a, b))));
        Simple2(OpSet.Less, "Less");
        Simple2(OpSet.LessEqual, "LessOrEqual");
        Simple2(OpSet.Greater, "Greater");
        Simple2(OpSet.GreaterEqual, "GreaterOrEqual");
        t.Add(OpSet.LogicalAnd, c => c.Result(0, "And", [c.In(0), c.In(1)]));
        t.Add(OpSet.LogicalOr, c => c.Result(0, "Or", [c.In(0), c.In(1)]));
        t.Add(OpSet.LogicalXor, c => c.Result(0, "Xor", [c.In(0), c.In(1)]));
        t.Add(OpSet.Where, c => c.Result(0, "Where", [c.In(0), c.In(1), c.In(2)]));
    }

    /// <summary>A double truncated toward zero and wrapped to an integer dtype's width (as the torch kernels convert scalars).</summary>
    private static long ToLong(double v, DType dt)
    {
        long l = (long)v;
        return dt switch
        {
            DType.Int32 => unchecked((int)l),
            DType.Int8 => unchecked((sbyte)l),
            DType.UInt8 => unchecked((byte)l),
            _ => l,
        };
    }
}
