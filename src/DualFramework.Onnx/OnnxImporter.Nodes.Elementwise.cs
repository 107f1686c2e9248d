using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private static readonly string[] ElementwiseOps =
    [
        "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Neg", "Abs", "LeakyRelu", "Add", "Sub", "Mul", "Div", "Pow", "Identity",
        "Clip", "Cast", "CastLike", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "Where",
        "Min", "Max", "Sum", "Mean", "Reciprocal", "Softplus", "Softsign", "HardSigmoid", "HardSwish", "Elu", "Selu", "Celu",
        "ThresholdedRelu", "PRelu", "Erf", "Sign",
    ];

    private sealed partial class Builder
    {
        /// <summary>Activations, arithmetic, comparisons, logical ops and casts (all mapped onto existing elementwise ops).</summary>
        private Value? MapElementwise(string op)
        {
            switch (op)
            {
                case "Relu": return Un(OpSet.Relu, In(0));
                case "Sigmoid": return Un(OpSet.Sigmoid, In(0));
                case "Tanh": return Un(OpSet.Tanh, In(0));
                case "Exp": return Un(OpSet.Exp, In(0));
                case "Log": return Un(OpSet.Log, In(0));
                case "Sqrt": return Un(OpSet.Sqrt, In(0));
                case "Neg": return Un(OpSet.Neg, In(0));
                case "Abs": return Un(OpSet.Abs, In(0));
                case "Erf": return Un(OpSet.Erf, Float(In(0)));
                case "Sign": return Un(OpSet.Sign, In(0));
                case "LeakyRelu": return Node(OpSet.LeakyRelu, new LeakyReluAttrs(Float("alpha", 0.01f)), In(0));
                case "Add": return Bin(OpSet.Add, In(0), In(1));
                case "Sub": return Bin(OpSet.Sub, In(0), In(1));
                case "Mul": return Bin(OpSet.Mul, In(0), In(1));
                case "Div": return Bin(OpSet.Div, Float(In(0)), In(1));
                case "Pow":
                {
                    Value a = In(0), b = In(1);
                    if (a.Spec.DType.IsFloating()) return Bin(OpSet.Pow, a, CastTo(b, a.Spec.DType));
                    if (!a.Spec.DType.IsInteger()) throw Bad($"{a.Spec.DType.Name()} inputs are not supported");
                    // Integer base: computed in float64 (exact for results below 2^53) and truncated back to the base's dtype.
                    var y = Bin(OpSet.Pow, CastTo(a, DType.Float64), CastTo(b, DType.Float64));
                    return CastTo(y, a.Spec.DType);
                }
                case "Identity": return In(0);
                case "Clip":
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
                }
                case "Cast":
                {
                    if (opset < 6) throw Bad($"opset {opset} Cast (string 'to') is not supported");
                    return CastTo(In(0), TensorData.DTypeOf((int)Int("to", 0), Where + " target type"));
                }
                case "CastLike": return CastTo(In(0), In(1).Spec.DType);
                case "Equal": return Bin(OpSet.Equal, In(0), In(1));
                case "Less": return Bin(OpSet.Less, In(0), In(1));
                case "Greater": return Bin(OpSet.Greater, In(0), In(1));
                case "LessOrEqual": return Bin(OpSet.LessEqual, In(0), In(1));
                case "GreaterOrEqual": return Bin(OpSet.GreaterEqual, In(0), In(1));
                case "Not": return Un(OpSet.LogicalNot, In(0));
                case "And": return Bin(OpSet.LogicalAnd, In(0), In(1));
                case "Or": return Bin(OpSet.LogicalOr, In(0), In(1));
                case "Xor": return Bin(OpSet.LogicalXor, In(0), In(1));
                case "Where": return Select(In(0), In(1), In(2));
                case "Min" or "Max" or "Sum" or "Mean":
                {
                    var xs = Inputs();
                    if (xs.Length == 0) throw Bad("needs at least one input");
                    var f = op switch { "Min" => OpSet.Minimum, "Max" => OpSet.Maximum, _ => (Op)OpSet.Add };
                    var y = xs[0];
                    for (int i = 1; i < xs.Length; i++) y = Bin(f, y, xs[i]);
                    if (op == "Mean" && xs.Length > 1) y = Bin(OpSet.Div, Float(y), Sc(xs.Length, y));
                    return y;
                }
                case "Reciprocal": { var x = Float(In(0)); return Bin(OpSet.Div, Sc(1, x), x); }
                case "Softplus": return Node(OpSet.Softplus, new SoftplusAttrs(1, 20), Float(In(0)));
                case "Softsign": { var x = Float(In(0)); return Bin(OpSet.Div, x, Bin(OpSet.Add, Sc(1, x), Un(OpSet.Abs, x))); }
                case "HardSigmoid" or "HardSwish":
                {
                    var x = Float(In(0));
                    double alpha = op == "HardSwish" ? 1.0 / 6 : Float("alpha", 0.2f), beta = op == "HardSwish" ? 0.5 : Float("beta", 0.5f);
                    var h = Node(OpSet.Clamp, new ClampAttrs(0, 1), Bin(OpSet.Add, Bin(OpSet.Mul, x, Sc(alpha, x)), Sc(beta, x)));
                    return op == "HardSwish" ? Bin(OpSet.Mul, x, h) : h;
                }
                case "Elu" or "Selu" or "Celu":
                {
                    var x = Float(In(0));
                    double alpha = Float("alpha", op == "Selu" ? 1.67326319217681884765625f : 1f);
                    // Negative branch alpha*(exp(x) - 1); Celu scales the exponent by 1/alpha.
                    var e = Un(OpSet.Exp, op == "Celu" ? Bin(OpSet.Div, x, Sc(alpha, x)) : x);
                    var neg = Bin(OpSet.Mul, Bin(OpSet.Sub, e, Sc(1, x)), Sc(alpha, x));
                    var y = Select(Bin(OpSet.Greater, x, Sc(0, x)), x, neg);
                    return op == "Selu" ? Bin(OpSet.Mul, y, Sc(Float("gamma", 1.05070102214813232421875f), y)) : y;
                }
                case "ThresholdedRelu":
                {
                    var x = Float(In(0));
                    return Select(Bin(OpSet.Greater, x, Sc(Float("alpha", 1f), x)), x, Sc(0, x));
                }
                case "PRelu":
                {
                    var x = Float(In(0));
                    return Select(Bin(OpSet.Less, x, Sc(0, x)), Bin(OpSet.Mul, x, In(1)), x);
                }
                default: return null;
            }
        }
    }
}
