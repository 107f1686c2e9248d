using DualFramework.Autodiff;
using static DualFramework.Ops;

namespace DualFramework.Operators;

/// <summary>Cumulative-sum parameters.</summary>
/// <param name="Axis">Normalised axis in [0, rank).</param>
/// <param name="Exclusive">Each output excludes its own element (the first is 0).</param>
/// <param name="Reverse">Sum from the end of the axis towards its start.</param>
public sealed record CumSumAttrs(int Axis, bool Exclusive, bool Reverse) : OpAttrs;

/// <summary>Cumulative sum along one axis (inclusive or exclusive, forwards or in reverse); output dtype = input dtype.</summary>
public sealed class CumSumOp : Op<CumSumAttrs>
{
    internal CumSumOp() : base("cumsum") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, CumSumAttrs attrs)
    {
        Arity(inputs, 1);
        var x = inputs[0];
        if (x.DType == DType.Bool) throw Fail(inputs, "bool operand; cast it first");
        if (x.Shape.Rank == 0) throw Fail(inputs, "needs an operand of rank ≥ 1");
        if (attrs.Axis < 0 || attrs.Axis >= x.Shape.Rank) throw Fail(inputs, $"axis {attrs.Axis} is out of range for rank {x.Shape.Rank}");
        return [x];
    }

    /// <summary>The adjoint of a cumulative sum is the cumulative sum of the gradient in the opposite direction.</summary>
    public override Tensor?[] Gradient(GradContext ctx)
    {
        var a = ctx.AttrsAs<CumSumAttrs>();
        return [ctx.NeedsGrad(0) ? CumSum(ctx.Grad, a.Axis, a.Exclusive, !a.Reverse) : null];
    }
}

public static partial class OpSet
{
    /// <summary>cos x; gradient −sin x.</summary>
    public static readonly UnaryOp<OpAttrs> Cos = Unary("cos", ElementwiseDType.Floating, c => Mul(c.Grad, Ops.Neg(Ops.Sin(X(c)))));

    /// <summary>sin x; gradient cos x.</summary>
    public static readonly UnaryOp<OpAttrs> Sin = Unary("sin", ElementwiseDType.Floating, c => Mul(c.Grad, Ops.Cos(X(c))));

    /// <summary>tan x; gradient 1 + y².</summary>
    public static readonly UnaryOp<OpAttrs> Tan = Unary("tan", ElementwiseDType.Floating, c => Mul(c.Grad, RAdd(1.0, Mul(Y(c), Y(c)))));

    /// <summary>arcsin x; gradient 1/√(1 − x²).</summary>
    public static readonly UnaryOp<OpAttrs> Asin = Unary("asin", ElementwiseDType.Floating,
        c => Ops.Div(c.Grad, Ops.Sqrt(RSub(1.0, Mul(X(c), X(c))))));

    /// <summary>arccos x; gradient −1/√(1 − x²).</summary>
    public static readonly UnaryOp<OpAttrs> Acos = Unary("acos", ElementwiseDType.Floating,
        c => Ops.Neg(Ops.Div(c.Grad, Ops.Sqrt(RSub(1.0, Mul(X(c), X(c)))))));

    /// <summary>arctan x; gradient 1/(1 + x²).</summary>
    public static readonly UnaryOp<OpAttrs> Atan = Unary("atan", ElementwiseDType.Floating, c => Ops.Div(c.Grad, RAdd(1.0, Mul(X(c), X(c)))));

    /// <summary>sinh x; gradient cosh x.</summary>
    public static readonly UnaryOp<OpAttrs> Sinh = Unary("sinh", ElementwiseDType.Floating, c => Mul(c.Grad, Ops.Cosh(X(c))));

    /// <summary>cosh x; gradient sinh x.</summary>
    public static readonly UnaryOp<OpAttrs> Cosh = Unary("cosh", ElementwiseDType.Floating, c => Mul(c.Grad, Ops.Sinh(X(c))));

    /// <summary>arsinh x; gradient 1/√(x² + 1).</summary>
    public static readonly UnaryOp<OpAttrs> Asinh = Unary("asinh", ElementwiseDType.Floating,
        c => Ops.Div(c.Grad, Ops.Sqrt(Ops.Add(Mul(X(c), X(c)), 1.0))));

    /// <summary>arcosh x (x ≥ 1); gradient 1/√(x² − 1).</summary>
    public static readonly UnaryOp<OpAttrs> Acosh = Unary("acosh", ElementwiseDType.Floating,
        c => Ops.Div(c.Grad, Ops.Sqrt(Ops.Sub(Mul(X(c), X(c)), 1.0))));

    /// <summary>artanh x (|x| &lt; 1); gradient 1/(1 − x²).</summary>
    public static readonly UnaryOp<OpAttrs> Atanh = Unary("atanh", ElementwiseDType.Floating, c => Ops.Div(c.Grad, RSub(1.0, Mul(X(c), X(c)))));

    /// <summary>⌊x⌋. Piecewise constant: no gradient flows through it.</summary>
    public static readonly UnaryOp<OpAttrs> Floor = Unary("floor", ElementwiseDType.Floating, null);

    /// <summary>⌈x⌉. Piecewise constant: no gradient flows through it.</summary>
    public static readonly UnaryOp<OpAttrs> Ceil = Unary("ceil", ElementwiseDType.Floating, null);

    /// <summary>x rounded to the nearest integer, halves to even. Piecewise constant: no gradient flows through it.</summary>
    public static readonly UnaryOp<OpAttrs> Round = Unary("round", ElementwiseDType.Floating, null);

    /// <summary>a − b·⌊a/b⌋: the remainder with the sign of the divisor (Python's %, ONNX Mod with fmod=0).</summary>
    public static readonly BinaryOp Remainder = new("remainder", ElementwiseDType.Numeric,
        c => (c.Grad, Ops.Neg(Mul(c.Grad, Ops.Floor(Ops.Div(c.Inputs[0], c.Inputs[1]))))));

    /// <summary>a − b·trunc(a/b): the remainder with the sign of the dividend (C's fmod, ONNX Mod with fmod=1).</summary>
    public static readonly BinaryOp Fmod = new("fmod", ElementwiseDType.Numeric, c =>
    {
        var q = Ops.Div(c.Inputs[0], c.Inputs[1]);
        var trunc = Where(Less(q, 0.0), Ops.Ceil(q), Ops.Floor(q));
        return (c.Grad, Ops.Neg(Mul(c.Grad, trunc)));
    });

    /// <summary>Product over axes; output dtype = input dtype.</summary>
    public static readonly ReduceOp Prod = new("prod", true, ProdGrad);

    /// <summary>Cumulative sum along an axis.</summary>
    public static readonly CumSumOp CumSum = new();

    /// <summary>
    /// ∂/∂xᵢ ∏ⱼ xⱼ = ∏_{j≠i} xⱼ, computed without dividing by zero: with no zero in the reduced group it is y/xᵢ; with one
    /// zero it is the product of the others at the zero and 0 elsewhere; with two or more zeros it is 0.
    /// </summary>
    private static Tensor ProdGrad(GradContext c)
    {
        var x = X(c);
        var axes = c.AttrsAs<ReduceAttrs>().Resolve(x.Rank);
        var isZero = Ops.Equal(x, 0.0);
        var safe = Where(LogicalNot(isZero), x, 1.0);
        var zeros = Ops.Sum(Ops.Cast(isZero, x.DType), axes, keepDims: true);
        var others = Ops.Prod(safe, axes, keepDims: true);
        var noZero = Ops.Div(others, safe);
        var oneZero = Where(LogicalAnd(Ops.Equal(zeros, 1.0), isZero), others, 0.0);
        var local = Where(Ops.Equal(zeros, 0.0), noZero, oneZero);
        return Mul(ReduceOp.Expanded(c, c.Grad), local);
    }
}
