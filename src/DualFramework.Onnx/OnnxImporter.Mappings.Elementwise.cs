using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>Activations, arithmetic, comparisons, logical ops and casts (all mapped onto existing elementwise ops).</summary>
        private void AddElementwise()
        {
            Map("Relu", _ => Un(OpSet.Relu, In(0)));
            Map("Sigmoid", _ => Un(OpSet.Sigmoid, In(0)));
            Map("Tanh", _ => Un(OpSet.Tanh, In(0)));
            Map("Exp", _ => Un(OpSet.Exp, In(0)));
            Map("Log", _ => Un(OpSet.Log, In(0)));
            Map("Sqrt", _ => Un(OpSet.Sqrt, In(0)));
            Map("Neg", _ => Un(OpSet.Neg, In(0)));
            Map("Abs", _ => Un(OpSet.Abs, In(0)));
            Map("Erf", _ => Un(OpSet.Erf, Float(In(0))));
            Map("Sign", _ => Un(OpSet.Sign, In(0)));
            Map("LeakyRelu", _ => Node(OpSet.LeakyRelu, new LeakyReluAttrs(Float("alpha", 0.01f)), In(0)));
            Map("Add", _ => Bin(OpSet.Add, In(0), In(1)));
            Map("Sub", _ => Bin(OpSet.Sub, In(0), In(1)));
            Map("Mul", _ => Bin(OpSet.Mul, In(0), In(1)));
            Map("Div", _ =>
            {
                Value a = In(0), b = In(1);
                if (a.Spec.DType.IsFloating()) return Bin(OpSet.Div, a, b);
                // Integer Div truncates toward zero: the float64 quotient, whose integer part is exact for 32-bit operands,
                // truncated by the cast back. int64 operands could lose digits in float64, so they are not supported.
                if (!a.Spec.DType.IsInteger() || a.Spec.DType == DType.Int64 || b.Spec.DType != a.Spec.DType)
                    throw Bad($"{a.Spec.DType.Name()} inputs are not supported (floating or 32-bit integer only)");
                var q = Bin(OpSet.Div, CastTo(a, DType.Float64), CastTo(b, DType.Float64));
                return CastTo(q, a.Spec.DType);
            });
            Map("Shrink", _ =>
            {
                var x = Float(In(0));
                double lambd = Float("lambd", 0.5f), bias = Float("bias", 0f);
                // x + bias below −lambd, x − bias above lambd, 0 between.
                var above = Select(Bin(OpSet.Greater, x, Sc(lambd, x)), Bin(OpSet.Sub, x, Sc(bias, x)), Sc(0, x));
                return Select(Bin(OpSet.Less, x, Sc(-lambd, x)), Bin(OpSet.Add, x, Sc(bias, x)), above);
            });
            Map("Pow", _ =>
            {
                Value a = In(0), b = In(1);
                if (a.Spec.DType.IsFloating()) return Bin(OpSet.Pow, a, CastTo(b, a.Spec.DType));
                if (!a.Spec.DType.IsInteger()) throw Bad($"{a.Spec.DType.Name()} inputs are not supported");
                // Integer base: computed in float64 (exact for results below 2^53) and truncated back to the base's dtype.
                var y = Bin(OpSet.Pow, CastTo(a, DType.Float64), CastTo(b, DType.Float64));
                return CastTo(y, a.Spec.DType);
            });
            Map("Identity", _ => In(0));
            Map("Clip", _ =>
            {
                double lo = double.NegativeInfinity, hi = double.PositiveInfinity;
                var x = In(0);
                if (opset < 11) { lo = Float("min", float.NegativeInfinity); hi = Float("max", float.PositiveInfinity); }
                else
                {
                    // Constant bounds fold into clamp; bounds computed at run time become maximum / minimum.
                    if (Has(1) && !ConstData.ContainsKey(_n.Input[1])) x = Bin(OpSet.Maximum, x, In(1));
                    else lo = ConstScalar(1) ?? lo;
                    if (Has(2) && !ConstData.ContainsKey(_n.Input[2])) x = Bin(OpSet.Minimum, x, In(2));
                    else hi = ConstScalar(2) ?? hi;
                }
                return double.IsInfinity(lo) && double.IsInfinity(hi) && opset >= 11 && x != In(0) ? x : Node(OpSet.Clamp, new ClampAttrs(lo, hi), x);
            });
            Map("Cast", _ =>
            {
                if (opset < 6) throw Bad($"opset {opset} Cast (string 'to') is not supported");
                return CastTo(In(0), TensorData.DTypeOf((int)Int("to", 0), Where + " target type"));
            });
            Map("CastLike", _ => CastTo(In(0), In(1).Spec.DType));
            Map("Equal", _ => Bin(OpSet.Equal, In(0), In(1)));
            Map("Less", _ => Bin(OpSet.Less, In(0), In(1)));
            Map("Greater", _ => Bin(OpSet.Greater, In(0), In(1)));
            Map("LessOrEqual", _ => Bin(OpSet.LessEqual, In(0), In(1)));
            Map("GreaterOrEqual", _ => Bin(OpSet.GreaterEqual, In(0), In(1)));
            Map("Not", _ => Un(OpSet.LogicalNot, In(0)));
            Map("And", _ => Bin(OpSet.LogicalAnd, In(0), In(1)));
            Map("Or", _ => Bin(OpSet.LogicalOr, In(0), In(1)));
            Map("Xor", _ => Bin(OpSet.LogicalXor, In(0), In(1)));
            Map("Where", _ => Select(In(0), In(1), In(2)));
            Map(["Min", "Max", "Sum", "Mean"], op =>
            {
                var xs = Inputs();
                if (xs.Length == 0) throw Bad("needs at least one input");
                var f = op switch { "Min" => OpSet.Minimum, "Max" => OpSet.Maximum, _ => (Op)OpSet.Add };
                var y = xs[0];
                for (int i = 1; i < xs.Length; i++) y = Bin(f, y, xs[i]);
                if (op == "Mean" && xs.Length > 1) y = Bin(OpSet.Div, Float(y), Sc(xs.Length, y));
                return y;
            });
            Map("Reciprocal", _ => { var x = Float(In(0)); return Bin(OpSet.Div, Sc(1, x), x); });
            Map("Softplus", _ => Node(OpSet.Softplus, new SoftplusAttrs(1, 20), Float(In(0))));
            Map("Softsign", _ => { var x = Float(In(0)); return Bin(OpSet.Div, x, Bin(OpSet.Add, Sc(1, x), Un(OpSet.Abs, x))); });
            Map(["HardSigmoid", "HardSwish"], op =>
            {
                var x = Float(In(0));
                double alpha = op == "HardSwish" ? 1.0 / 6 : Float("alpha", 0.2f), beta = op == "HardSwish" ? 0.5 : Float("beta", 0.5f);
                var h = Node(OpSet.Clamp, new ClampAttrs(0, 1), Bin(OpSet.Add, Bin(OpSet.Mul, x, Sc(alpha, x)), Sc(beta, x)));
                return op == "HardSwish" ? Bin(OpSet.Mul, x, h) : h;
            });
            Map(["Elu", "Selu", "Celu"], op =>
            {
                var x = Float(In(0));
                double alpha = Float("alpha", op == "Selu" ? 1.67326319217681884765625f : 1f);
                // Negative branch alpha*(exp(x) - 1); Celu scales the exponent by 1/alpha.
                var e = Un(OpSet.Exp, op == "Celu" ? Bin(OpSet.Div, x, Sc(alpha, x)) : x);
                var neg = Bin(OpSet.Mul, Bin(OpSet.Sub, e, Sc(1, x)), Sc(alpha, x));
                var y = Select(Bin(OpSet.Greater, x, Sc(0, x)), x, neg);
                return op == "Selu" ? Bin(OpSet.Mul, y, Sc(Float("gamma", 1.05070102214813232421875f), y)) : y;
            });
            Map("ThresholdedRelu", _ =>
            {
                var x = Float(In(0));
                return Select(Bin(OpSet.Greater, x, Sc(Float("alpha", 1f), x)), x, Sc(0, x));
            });
            Map("PRelu", _ =>
            {
                var x = Float(In(0));
                return Select(Bin(OpSet.Less, x, Sc(0, x)), Bin(OpSet.Mul, x, In(1)), x);
            });
        }
    }
}
