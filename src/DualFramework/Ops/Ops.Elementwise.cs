using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>a + b with broadcasting and dtype promotion.</summary>
    public static Tensor Add(Tensor a, Tensor b) => Binary(OpSet.Add, a, b);
    /// <summary>a + s.</summary>
    public static Tensor Add(Tensor a, double s) => BinaryScalar(OpSet.Add, a, s);
    /// <summary>s + a.</summary>
    public static Tensor RAdd(double s, Tensor a) => BinaryScalar(OpSet.Add, a, s, scalarFirst: true);
    /// <summary>a − b.</summary>
    public static Tensor Sub(Tensor a, Tensor b) => Binary(OpSet.Sub, a, b);
    /// <summary>a − s.</summary>
    public static Tensor Sub(Tensor a, double s) => BinaryScalar(OpSet.Sub, a, s);
    /// <summary>s − a.</summary>
    public static Tensor RSub(double s, Tensor a) => BinaryScalar(OpSet.Sub, a, s, scalarFirst: true);
    /// <summary>a · b.</summary>
    public static Tensor Mul(Tensor a, Tensor b) => Binary(OpSet.Mul, a, b);
    /// <summary>a · s.</summary>
    public static Tensor Mul(Tensor a, double s) => BinaryScalar(OpSet.Mul, a, s);
    /// <summary>a / b (true division: integer operands give float32).</summary>
    public static Tensor Div(Tensor a, Tensor b) => FloatBinary(OpSet.Div, a, b);
    /// <summary>a / s.</summary>
    public static Tensor Div(Tensor a, double s) => FloatScalar(OpSet.Div, a, s, false);
    /// <summary>s / a.</summary>
    public static Tensor RDiv(double s, Tensor a) => FloatScalar(OpSet.Div, a, s, true);
    /// <summary>aᵇ elementwise (floating).</summary>
    public static Tensor Pow(Tensor a, Tensor b) => FloatBinary(OpSet.Pow, a, b);
    /// <summary>aˢ elementwise (floating).</summary>
    public static Tensor Pow(Tensor a, double s) => FloatScalar(OpSet.Pow, a, s, false);
    /// <summary>Elementwise maximum.</summary>
    public static Tensor Maximum(Tensor a, Tensor b) => Binary(OpSet.Maximum, a, b);
    /// <summary>Elementwise maximum with a scalar.</summary>
    public static Tensor Maximum(Tensor a, double s) => BinaryScalar(OpSet.Maximum, a, s);
    /// <summary>Elementwise minimum.</summary>
    public static Tensor Minimum(Tensor a, Tensor b) => Binary(OpSet.Minimum, a, b);
    /// <summary>Elementwise minimum with a scalar.</summary>
    public static Tensor Minimum(Tensor a, double s) => BinaryScalar(OpSet.Minimum, a, s);

    private static Tensor FloatScalar(Op op, Tensor a, double s, bool scalarFirst)
    {
        var dt = DTypes.ToFloating(a.DType);
        var x = CastTo(a, dt);
        var c = ScalarLike(a, s, dt);
        return scalarFirst ? Apply(op, c, x) : Apply(op, x, c);
    }

    /// <summary>a == b (bool).</summary>
    public static Tensor Equal(Tensor a, Tensor b) => Binary(OpSet.Equal, a, b);
    /// <summary>a == s (bool).</summary>
    public static Tensor Equal(Tensor a, double s) => BinaryScalar(OpSet.Equal, a, s);
    /// <summary>a != b (bool).</summary>
    public static Tensor NotEqual(Tensor a, Tensor b) => Binary(OpSet.NotEqual, a, b);
    /// <summary>a != s (bool).</summary>
    public static Tensor NotEqual(Tensor a, double s) => BinaryScalar(OpSet.NotEqual, a, s);
    /// <summary>a &lt; b (bool).</summary>
    public static Tensor Less(Tensor a, Tensor b) => Binary(OpSet.Less, a, b);
    /// <summary>a &lt; s (bool).</summary>
    public static Tensor Less(Tensor a, double s) => BinaryScalar(OpSet.Less, a, s);
    /// <summary>a ≤ b (bool).</summary>
    public static Tensor LessEqual(Tensor a, Tensor b) => Binary(OpSet.LessEqual, a, b);
    /// <summary>a ≤ s (bool).</summary>
    public static Tensor LessEqual(Tensor a, double s) => BinaryScalar(OpSet.LessEqual, a, s);
    /// <summary>a &gt; b (bool).</summary>
    public static Tensor Greater(Tensor a, Tensor b) => Binary(OpSet.Greater, a, b);
    /// <summary>a &gt; s (bool).</summary>
    public static Tensor Greater(Tensor a, double s) => BinaryScalar(OpSet.Greater, a, s);
    /// <summary>a ≥ b (bool).</summary>
    public static Tensor GreaterEqual(Tensor a, Tensor b) => Binary(OpSet.GreaterEqual, a, b);
    /// <summary>a ≥ s (bool).</summary>
    public static Tensor GreaterEqual(Tensor a, double s) => BinaryScalar(OpSet.GreaterEqual, a, s);
    /// <summary>Logical and (bool operands).</summary>
    public static Tensor LogicalAnd(Tensor a, Tensor b) => Apply(OpSet.LogicalAnd, a, b);
    /// <summary>Logical or (bool operands).</summary>
    public static Tensor LogicalOr(Tensor a, Tensor b) => Apply(OpSet.LogicalOr, a, b);
    /// <summary>Logical xor (bool operands).</summary>
    public static Tensor LogicalXor(Tensor a, Tensor b) => Apply(OpSet.LogicalXor, a, b);
    /// <summary>Logical not (bool operand).</summary>
    public static Tensor LogicalNot(Tensor a) => Apply(OpSet.LogicalNot, a);

    /// <summary>Elementwise select: <paramref name="a"/> where <paramref name="cond"/> is true, else <paramref name="b"/>.</summary>
    public static Tensor Where(Tensor cond, Tensor a, Tensor b)
    {
        var dt = DTypes.Promote(a.DType, b.DType);
        return Apply(OpSet.Where, cond, CastTo(a, dt), CastTo(b, dt));
    }

    /// <summary>Elementwise select against a scalar.</summary>
    public static Tensor Where(Tensor cond, Tensor a, double b) => Where(cond, a, ScalarLike(a, b, WithScalar(a, b)));

    /// <summary>−x.</summary>
    public static Tensor Neg(Tensor x) => Apply(OpSet.Neg, x);
    /// <summary>|x|.</summary>
    public static Tensor Abs(Tensor x) => Apply(OpSet.Abs, x);
    /// <summary>sign(x).</summary>
    public static Tensor Sign(Tensor x) => Apply(OpSet.Sign, x);
    /// <summary>eˣ.</summary>
    public static Tensor Exp(Tensor x) => FloatUnary(OpSet.Exp, x);
    /// <summary>ln x.</summary>
    public static Tensor Log(Tensor x) => FloatUnary(OpSet.Log, x);
    /// <summary>√x.</summary>
    public static Tensor Sqrt(Tensor x) => FloatUnary(OpSet.Sqrt, x);
    /// <summary>1/√x.</summary>
    public static Tensor Rsqrt(Tensor x) => FloatUnary(OpSet.Rsqrt, x);
    /// <summary>tanh x.</summary>
    public static Tensor Tanh(Tensor x) => FloatUnary(OpSet.Tanh, x);
    /// <summary>Logistic sigmoid.</summary>
    public static Tensor Sigmoid(Tensor x) => FloatUnary(OpSet.Sigmoid, x);
    /// <summary>Gauss error function.</summary>
    public static Tensor Erf(Tensor x) => FloatUnary(OpSet.Erf, x);
    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor x) => Apply(OpSet.Relu, x);
    /// <summary>Leaky ReLU with negative slope <paramref name="alpha"/>.</summary>
    public static Tensor LeakyRelu(Tensor x, double alpha = 0.01) => FloatUnary(OpSet.LeakyRelu, x, new LeakyReluAttrs(alpha));
    /// <summary>GELU, exact (the default) or in the tanh form.</summary>
    public static Tensor Gelu(Tensor x, GeluApproximation approximation = GeluApproximation.None) => FloatUnary(OpSet.Gelu, x, new GeluAttrs(approximation));

    /// <summary>Softplus <c>log(1 + exp(βx))/β</c>, linear where βx &gt; threshold.</summary>
    public static Tensor Softplus(Tensor x, double beta = 1.0, double threshold = 20.0)
    {
        if (beta <= 0) throw new OpException("softplus", [x.Spec], $"beta must be positive, got {beta}", LayerPath.Current);
        return FloatUnary(OpSet.Softplus, x, new SoftplusAttrs(beta, threshold));
    }

    /// <summary>Clamps into [<paramref name="min"/>, <paramref name="max"/>]; null means unbounded.</summary>
    public static Tensor Clamp(Tensor x, double? min = null, double? max = null)
    {
        double lo = min ?? double.NegativeInfinity, hi = max ?? double.PositiveInfinity;
        if (lo > hi) throw new OpException("clamp", [x.Spec], $"min {lo} is greater than max {hi}", LayerPath.Current);
        return Apply(OpSet.Clamp, new ClampAttrs(lo, hi), x);
    }

    /// <summary>The same values with no gradient flowing back.</summary>
    public static Tensor StopGradient(Tensor x) => Apply(OpSet.StopGradient, x);

    /// <summary>Converts to <paramref name="dtype"/> (a new tensor even when the dtype is unchanged).</summary>
    public static Tensor Cast(Tensor x, DType dtype) => Apply(OpSet.Cast, new CastAttrs(dtype), x);
}

public sealed partial class Tensor
{
    /// <summary>a + b.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);
    /// <summary>a + s.</summary>
    public static Tensor operator +(Tensor a, double s) => Ops.Add(a, s);
    /// <summary>s + a.</summary>
    public static Tensor operator +(double s, Tensor a) => Ops.RAdd(s, a);
    /// <summary>a − b.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Ops.Sub(a, b);
    /// <summary>a − s.</summary>
    public static Tensor operator -(Tensor a, double s) => Ops.Sub(a, s);
    /// <summary>s − a.</summary>
    public static Tensor operator -(double s, Tensor a) => Ops.RSub(s, a);
    /// <summary>−a.</summary>
    public static Tensor operator -(Tensor a) => Ops.Neg(a);
    /// <summary>a · b.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Ops.Mul(a, b);
    /// <summary>a · s.</summary>
    public static Tensor operator *(Tensor a, double s) => Ops.Mul(a, s);
    /// <summary>s · a.</summary>
    public static Tensor operator *(double s, Tensor a) => Ops.Mul(a, s);
    /// <summary>a / b.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Ops.Div(a, b);
    /// <summary>a / s.</summary>
    public static Tensor operator /(Tensor a, double s) => Ops.Div(a, s);
    /// <summary>s / a.</summary>
    public static Tensor operator /(double s, Tensor a) => Ops.RDiv(s, a);
}
