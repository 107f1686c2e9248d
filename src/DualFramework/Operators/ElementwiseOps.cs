using DualFramework.Autodiff;

namespace DualFramework.Operators;

/// <summary>How an elementwise op chooses its output dtype.</summary>
public enum ElementwiseDType
{
    /// <summary>Output has the input dtype; bool inputs are rejected.</summary>
    Numeric,
    /// <summary>Output has the input dtype, any dtype accepted.</summary>
    Any,
    /// <summary>Floating input required (integer/bool inputs are cast to float32 by <see cref="DualFramework.Ops"/>).</summary>
    Floating,
    /// <summary>Any input; bool output (comparisons).</summary>
    Compare,
    /// <summary>Bool inputs; bool output (logical ops).</summary>
    Logical,
}

/// <summary>A one-operand elementwise op.</summary>
public sealed class UnaryOp<TAttrs> : Op<TAttrs> where TAttrs : OpAttrs
{
    private readonly ElementwiseDType _rule;
    private readonly Func<GradContext, Tensor>? _grad;

    /// <summary>Declares the op with its dtype rule and gradient (null: not differentiable).</summary>
    public UnaryOp(string name, ElementwiseDType rule, Func<GradContext, Tensor>? grad) : base(name)
    {
        _rule = rule;
        _grad = grad;
    }

    /// <inheritdoc />
    public override bool IsDifferentiable => _grad != null;

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, TAttrs attrs)
    {
        Arity(inputs, 1);
        var x = inputs[0];
        return One(x.Shape, Elementwise.CheckDType(this, inputs, _rule, x.DType));
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx) =>
        _grad == null ? base.Gradient(ctx) : [ctx.NeedsGrad(0) ? _grad(ctx) : null];
}

/// <summary>A two-operand elementwise op with NumPy broadcasting. Both operands must have the same dtype
/// (<see cref="DualFramework.Ops"/> promotes them first).</summary>
public sealed class BinaryOp : Op
{
    private readonly ElementwiseDType _rule;
    private readonly Func<GradContext, (Tensor? a, Tensor? b)>? _grad;

    /// <summary>Declares the op with its dtype rule and gradient (null: not differentiable).</summary>
    public BinaryOp(string name, ElementwiseDType rule, Func<GradContext, (Tensor? a, Tensor? b)>? grad) : base(name)
    {
        _rule = rule;
        _grad = grad;
    }

    /// <inheritdoc />
    public override bool IsDifferentiable => _grad != null;

    /// <inheritdoc />
    public override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, OpAttrs attrs)
    {
        Arity(inputs, 2);
        if (inputs[0].DType != inputs[1].DType)
            throw Fail(inputs, $"operand dtypes differ ({inputs[0].DType.Name()} vs {inputs[1].DType.Name()}); promote them first");
        if (!Shape.TryBroadcast(inputs[0].Shape, inputs[1].Shape, out var shape))
            throw Fail(inputs, $"shapes {inputs[0].Shape} and {inputs[1].Shape} cannot be broadcast together");
        return One(shape, Elementwise.CheckDType(this, inputs, _rule, inputs[0].DType));
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        if (_grad == null) return base.Gradient(ctx);
        var (ga, gb) = _grad(ctx);
        return
        [
            ga == null || !ctx.NeedsGrad(0) ? null : Ops.SumToShape(ga, ctx.Inputs[0].Shape),
            gb == null || !ctx.NeedsGrad(1) ? null : Ops.SumToShape(gb, ctx.Inputs[1].Shape),
        ];
    }
}

/// <summary><c>where(cond, a, b)</c>: elementwise select with three-way broadcasting.</summary>
public sealed class WhereOp : Op
{
    internal WhereOp() : base("where") { }

    /// <inheritdoc />
    public override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, OpAttrs attrs)
    {
        Arity(inputs, 3);
        if (inputs[0].DType != DType.Bool) throw Fail(inputs, $"condition must be bool, got {inputs[0].DType.Name()}");
        if (inputs[1].DType != inputs[2].DType)
            throw Fail(inputs, $"value dtypes differ ({inputs[1].DType.Name()} vs {inputs[2].DType.Name()}); promote them first");
        if (!Shape.TryBroadcast(inputs[0].Shape, inputs[1].Shape, out var s) || !Shape.TryBroadcast(s, inputs[2].Shape, out s))
            throw Fail(inputs, "shapes cannot be broadcast together");
        return One(s, inputs[1].DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        var c = ctx.Inputs[0];
        var g = ctx.Grad;
        var zero = Ops.ZerosLike(g);
        return
        [
            null,
            ctx.NeedsGrad(1) ? Ops.SumToShape(Ops.Where(c, g, zero), ctx.Inputs[1].Shape) : null,
            ctx.NeedsGrad(2) ? Ops.SumToShape(Ops.Where(c, zero, g), ctx.Inputs[2].Shape) : null,
        ];
    }
}

internal static class Elementwise
{
    public static DType CheckDType(Op op, ReadOnlySpan<TensorSpec> inputs, ElementwiseDType rule, DType dt)
    {
        switch (rule)
        {
            case ElementwiseDType.Numeric when dt == DType.Bool:
                throw new OpException(op.Name, inputs.ToArray(), "bool operands are not supported; cast them or use a logical op", LayerPath.Current);
            case ElementwiseDType.Floating when !dt.IsFloating():
                throw new OpException(op.Name, inputs.ToArray(), $"needs floating operands, got {dt.Name()}", LayerPath.Current);
            case ElementwiseDType.Logical when dt != DType.Bool:
                throw new OpException(op.Name, inputs.ToArray(), $"needs bool operands, got {dt.Name()}", LayerPath.Current);
            case ElementwiseDType.Compare or ElementwiseDType.Logical:
                return DType.Bool;
        }
        return dt;
    }
}
