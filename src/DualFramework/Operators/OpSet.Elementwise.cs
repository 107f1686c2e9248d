using DualFramework.Autodiff;
using static DualFramework.Ops;

namespace DualFramework.Operators;

/// <summary>Slope for negative inputs of leaky_relu.</summary>
/// <param name="Alpha">Negative slope.</param>
public sealed record LeakyReluAttrs(double Alpha) : OpAttrs;

/// <summary>GELU variant.</summary>
/// <param name="Approximation">The exact erf form or the tanh approximation.</param>
public sealed record GeluAttrs(GeluApproximation Approximation) : OpAttrs;

/// <summary>Softplus parameters: <c>log(1 + exp(beta·x)) / beta</c>, linear where <c>beta·x &gt; threshold</c>.</summary>
/// <param name="Beta">Sharpness.</param>
/// <param name="Threshold">Above this the op is the identity.</param>
public sealed record SoftplusAttrs(double Beta, double Threshold) : OpAttrs;

/// <summary>Clamp bounds (±infinity for none).</summary>
/// <param name="Min">Lower bound.</param>
/// <param name="Max">Upper bound.</param>
public sealed record ClampAttrs(double Min, double Max) : OpAttrs;

/// <summary>Target dtype of a cast.</summary>
/// <param name="To">The dtype to convert to.</param>
public sealed record CastAttrs(DType To) : OpAttrs;

/// <summary>Converts elements to another dtype (floating → integer truncates toward zero; nonzero → true for bool).</summary>
public sealed class CastOp : Op<CastAttrs>
{
    internal CastOp() : base("cast") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, CastAttrs attrs)
    {
        Arity(inputs, 1);
        return One(inputs[0].Shape, attrs.To);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        var x = ctx.Inputs[0];
        bool flows = ctx.NeedsGrad(0) && x.DType.IsFloating() && ctx.Outputs[0].DType.IsFloating();
        return [flows ? Cast(ctx.Grad, x.DType) : null];
    }
}

public static partial class OpSet
{
    private static UnaryOp<OpAttrs> Unary(string name, ElementwiseDType rule, Func<GradContext, Tensor>? grad) => new(name, rule, grad);

    private static Tensor X(GradContext c) => c.Inputs[0];
    private static Tensor Y(GradContext c) => c.Outputs[0];

    /// <summary>−x.</summary>
    public static readonly UnaryOp<OpAttrs> Neg = Unary("neg", ElementwiseDType.Numeric, c => Ops.Neg(c.Grad));

    /// <summary>|x|; gradient sign(x) (0 at 0, as libtorch).</summary>
    public static readonly UnaryOp<OpAttrs> Abs = Unary("abs", ElementwiseDType.Numeric, c => Mul(c.Grad, Ops.Sign(X(c))));

    /// <summary>sign(x) ∈ {−1, 0, 1}; gradient zero.</summary>
    public static readonly UnaryOp<OpAttrs> Sign = Unary("sign", ElementwiseDType.Numeric, null);

    /// <summary>eˣ.</summary>
    public static readonly UnaryOp<OpAttrs> Exp = Unary("exp", ElementwiseDType.Floating, c => Mul(c.Grad, Y(c)));

    /// <summary>Natural logarithm.</summary>
    public static readonly UnaryOp<OpAttrs> Log = Unary("log", ElementwiseDType.Floating, c => Div(c.Grad, X(c)));

    /// <summary>√x.</summary>
    public static readonly UnaryOp<OpAttrs> Sqrt = Unary("sqrt", ElementwiseDType.Floating, c => Div(c.Grad, Mul(Y(c), 2.0)));

    /// <summary>1/√x; gradient −½·y³.</summary>
    public static readonly UnaryOp<OpAttrs> Rsqrt = Unary("rsqrt", ElementwiseDType.Floating,
        c => Mul(c.Grad, Mul(Mul(Mul(Y(c), Y(c)), Y(c)), -0.5)));

    /// <summary>tanh x; gradient 1 − y².</summary>
    public static readonly UnaryOp<OpAttrs> Tanh = Unary("tanh", ElementwiseDType.Floating,
        c => Mul(c.Grad, RSub(1.0, Mul(Y(c), Y(c)))));

    /// <summary>Logistic sigmoid; gradient y(1 − y).</summary>
    public static readonly UnaryOp<OpAttrs> Sigmoid = Unary("sigmoid", ElementwiseDType.Floating,
        c => Mul(c.Grad, Mul(Y(c), RSub(1.0, Y(c)))));

    /// <summary>Gauss error function; gradient 2/√π·e^(−x²).</summary>
    public static readonly UnaryOp<OpAttrs> Erf = Unary("erf", ElementwiseDType.Floating,
        c => Mul(c.Grad, Mul(Ops.Exp(Ops.Neg(Mul(X(c), X(c)))), 2.0 / Math.Sqrt(Math.PI))));

    /// <summary>max(x, 0); gradient where y &gt; 0 (as libtorch).</summary>
    public static readonly UnaryOp<OpAttrs> Relu = Unary("relu", ElementwiseDType.Numeric,
        c => Where(Greater(Y(c), 0.0), c.Grad, ZerosLike(c.Grad)));

    /// <summary>x for x &gt; 0, αx otherwise.</summary>
    public static readonly UnaryOp<LeakyReluAttrs> LeakyRelu = new("leaky_relu", ElementwiseDType.Floating,
        c => Where(Greater(X(c), 0.0), c.Grad, Mul(c.Grad, c.AttrsAs<LeakyReluAttrs>().Alpha)));

    /// <summary>Gaussian error linear unit, exact or tanh-approximated.</summary>
    public static readonly UnaryOp<GeluAttrs> Gelu = new("gelu", ElementwiseDType.Floating, GeluGrad);

    /// <summary>Softplus with beta and threshold (PyTorch semantics).</summary>
    public static readonly UnaryOp<SoftplusAttrs> Softplus = new("softplus", ElementwiseDType.Floating, c =>
    {
        var a = c.AttrsAs<SoftplusAttrs>();
        var bx = Mul(X(c), a.Beta);
        return Where(Greater(bx, a.Threshold), c.Grad, Mul(c.Grad, Ops.Sigmoid(bx)));
    });

    /// <summary>Clamp into [min, max]; gradient passes where min ≤ x ≤ max (as libtorch).</summary>
    public static readonly UnaryOp<ClampAttrs> Clamp = new("clamp", ElementwiseDType.Numeric, c =>
    {
        var a = c.AttrsAs<ClampAttrs>();
        var inside = LogicalAnd(GreaterEqual(X(c), a.Min), LessEqual(X(c), a.Max));
        return Where(inside, c.Grad, ZerosLike(c.Grad));
    });

    /// <summary>Logical not of a bool tensor.</summary>
    public static readonly UnaryOp<OpAttrs> LogicalNot = Unary("logical_not", ElementwiseDType.Logical, null);

    /// <summary>Identity whose output carries no gradient (<see cref="Tensor.Detach"/>).</summary>
    public static readonly UnaryOp<OpAttrs> StopGradient = Unary("stop_gradient", ElementwiseDType.Any, null);

    /// <summary>dtype conversion.</summary>
    public static readonly CastOp Cast = new();

    /// <summary>a + b.</summary>
    public static readonly BinaryOp Add = new("add", ElementwiseDType.Numeric, c => (c.Grad, c.Grad));

    /// <summary>a − b.</summary>
    public static readonly BinaryOp Sub = new("sub", ElementwiseDType.Numeric, c => (c.Grad, Ops.Neg(c.Grad)));

    /// <summary>a · b.</summary>
    public static readonly BinaryOp Mul = new("mul", ElementwiseDType.Numeric,
        c => (Ops.Mul(c.Grad, c.Inputs[1]), Ops.Mul(c.Grad, c.Inputs[0])));

    /// <summary>a / b (true division; integer operands are promoted to floating by <see cref="DualFramework.Ops.Div(Tensor, Tensor)"/>).</summary>
    public static readonly BinaryOp Div = new("div", ElementwiseDType.Floating,
        c => (Ops.Div(c.Grad, c.Inputs[1]), Ops.Neg(Ops.Div(Ops.Mul(c.Grad, Y(c)), c.Inputs[1]))));

    /// <summary>aᵇ, elementwise.</summary>
    public static readonly BinaryOp Pow = new("pow", ElementwiseDType.Floating, PowGrad);

    /// <summary>Elementwise maximum; ties split the gradient in half (as libtorch).</summary>
    public static readonly BinaryOp Maximum = new("maximum", ElementwiseDType.Numeric, c => MinMaxGrad(c, true));

    /// <summary>Elementwise minimum; ties split the gradient in half (as libtorch).</summary>
    public static readonly BinaryOp Minimum = new("minimum", ElementwiseDType.Numeric, c => MinMaxGrad(c, false));

    /// <summary>a == b.</summary>
    public static readonly BinaryOp Equal = new("equal", ElementwiseDType.Compare, null);

    /// <summary>a != b.</summary>
    public static readonly BinaryOp NotEqual = new("not_equal", ElementwiseDType.Compare, null);

    /// <summary>a &lt; b.</summary>
    public static readonly BinaryOp Less = new("less", ElementwiseDType.Compare, null);

    /// <summary>a ≤ b.</summary>
    public static readonly BinaryOp LessEqual = new("less_equal", ElementwiseDType.Compare, null);

    /// <summary>a &gt; b.</summary>
    public static readonly BinaryOp Greater = new("greater", ElementwiseDType.Compare, null);

    /// <summary>a ≥ b.</summary>
    public static readonly BinaryOp GreaterEqual = new("greater_equal", ElementwiseDType.Compare, null);

    /// <summary>Logical and of bool tensors.</summary>
    public static readonly BinaryOp LogicalAnd = new("logical_and", ElementwiseDType.Logical, null);

    /// <summary>Logical or of bool tensors.</summary>
    public static readonly BinaryOp LogicalOr = new("logical_or", ElementwiseDType.Logical, null);

    /// <summary>Logical exclusive or of bool tensors.</summary>
    public static readonly BinaryOp LogicalXor = new("logical_xor", ElementwiseDType.Logical, null);

    /// <summary>where(cond, a, b).</summary>
    public static readonly WhereOp Where = new();

    private static Tensor GeluGrad(GradContext c)
    {
        var x = X(c);
        if (c.AttrsAs<GeluAttrs>().Approximation != GeluApproximation.Tanh)
        {
            // d/dx x·Φ(x) = Φ(x) + x·φ(x)
            var cdf = Mul(RAdd(1.0, Ops.Erf(Mul(x, 1.0 / Math.Sqrt(2.0)))), 0.5);
            var pdf = Mul(Ops.Exp(Mul(Mul(x, x), -0.5)), 1.0 / Math.Sqrt(2.0 * Math.PI));
            return Mul(c.Grad, Ops.Add(cdf, Mul(x, pdf)));
        }
        const double k = 0.044715;
        double s = Math.Sqrt(2.0 / Math.PI);
        var x2 = Mul(x, x);
        var t = Ops.Tanh(Mul(Ops.Add(x, Mul(Mul(x2, x), k)), s));
        var left = Mul(RAdd(1.0, t), 0.5);
        var right = Mul(Mul(Mul(x, RSub(1.0, Mul(t, t))), 0.5 * s), RAdd(1.0, Mul(x2, 3 * k)));
        return Mul(c.Grad, Ops.Add(left, right));
    }

    private static (Tensor?, Tensor?) PowGrad(GradContext c)
    {
        Tensor a = c.Inputs[0], b = c.Inputs[1], y = Y(c), g = c.Grad;
        Tensor? ga = null, gb = null;
        if (c.NeedsGrad(0))
        {
            var d = Mul(Mul(g, b), Ops.Pow(a, Ops.Sub(b, 1.0)));
            ga = Ops.Where(Ops.Equal(b, 0.0), ZerosLike(d), d);
        }
        if (c.NeedsGrad(1))
        {
            var d = Mul(Mul(g, y), Ops.Log(a));
            gb = Ops.Where(LogicalAnd(Ops.Equal(a, 0.0), GreaterEqual(b, 0.0)), ZerosLike(d), d);
        }
        return (ga, gb);
    }

    private static (Tensor?, Tensor?) MinMaxGrad(GradContext c, bool max)
    {
        Tensor a = c.Inputs[0], b = c.Inputs[1], g = c.Grad;
        var half = Mul(g, 0.5);
        var zero = ZerosLike(g);
        var tie = Ops.Equal(a, b);
        var aWins = max ? Ops.Greater(a, b) : Ops.Less(a, b);
        var bWins = max ? Ops.Less(a, b) : Ops.Greater(a, b);
        return (Ops.Where(aWins, g, Ops.Where(tie, half, zero)), Ops.Where(bWins, g, Ops.Where(tie, half, zero)));
    }
}
