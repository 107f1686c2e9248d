using DualFramework.Autodiff;
using static DualFramework.Ops;

namespace DualFramework.Operators;

/// <summary>The axis a softmax normalises over.</summary>
/// <param name="Axis">Normalised axis in [0, rank).</param>
public sealed record SoftmaxAttrs(int Axis) : OpAttrs;

/// <summary>softmax / log_softmax along one axis of a floating operand (rank ≥ 1).</summary>
public sealed class SoftmaxOp : Op<SoftmaxAttrs>
{
    private readonly bool _log;

    internal SoftmaxOp(string name, bool log) : base(name) => _log = log;

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, SoftmaxAttrs attrs)
    {
        Arity(inputs, 1);
        var x = inputs[0];
        if (!x.DType.IsFloating()) throw Fail(inputs, $"{Name} needs a floating operand; cast it first");
        if (x.Shape.Rank == 0) throw Fail(inputs, $"{Name} needs an operand of rank at least 1");
        Axis(inputs, attrs.Axis, x.Shape.Rank);
        if (attrs.Axis < 0) throw Fail(inputs, $"axis {attrs.Axis} is not normalised");
        return One(x.Shape, x.DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        if (!ctx.NeedsGrad(0)) return [null];
        int axis = ctx.AttrsAs<SoftmaxAttrs>().Axis;
        var g = ctx.Grad;
        var y = ctx.Outputs[0];
        // softmax: J = diag(y) − y yᵀ, so Jᵀg = y ⊙ (g − Σ g·y). log_softmax: J = I − 1 softmaxᵀ, so Jᵀg = g − e^y Σ g.
        return _log
            ? [Sub(g, Mul(Exp(y), Sum(g, axis, keepDims: true)))]
            : [Mul(y, Sub(g, Sum(Mul(g, y), axis, keepDims: true)))];
    }
}

public static partial class OpSet
{
    /// <summary>exp(x) / Σ exp(x) along an axis.</summary>
    public static readonly SoftmaxOp Softmax = new("softmax", false);

    /// <summary>x − log Σ exp(x) along an axis.</summary>
    public static readonly SoftmaxOp LogSoftmax = new("log_softmax", true);
}
