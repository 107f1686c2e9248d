using DualFramework.Autodiff;
using static DualFramework.Ops;

namespace DualFramework.Operators;

/// <summary>Axes of a reduction (normalised, ascending, distinct; empty = all axes) and whether they are kept as size 1.</summary>
/// <param name="Axes">Reduced axes.</param>
/// <param name="KeepDims">Keep reduced axes as size-1 dimensions.</param>
public sealed record ReduceAttrs(int[] Axes, bool KeepDims) : OpAttrs
{
    /// <summary>The reduced axes for an operand of rank <paramref name="rank"/> (all axes when <see cref="Axes"/> is empty).</summary>
    public int[] Resolve(int rank) => Axes.Length == 0 ? Enumerable.Range(0, rank).ToArray() : Axes;
}

/// <summary>sum / mean / max / min over axes.</summary>
public sealed class ReduceOp : Op<ReduceAttrs>
{
    private readonly Func<GradContext, Tensor>? _grad;
    private readonly bool _numericOnly;

    internal ReduceOp(string name, bool numericOnly, Func<GradContext, Tensor>? grad) : base(name)
    {
        _grad = grad;
        _numericOnly = numericOnly;
    }

    /// <inheritdoc />
    public override bool IsDifferentiable => _grad != null;

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, ReduceAttrs attrs)
    {
        Arity(inputs, 1);
        var x = inputs[0];
        if (_numericOnly && x.DType == DType.Bool) throw Fail(inputs, "bool operand; cast it first");
        var axes = attrs.Resolve(x.Shape.Rank);
        var seen = new bool[x.Shape.Rank];
        foreach (var a in axes)
        {
            if (a < 0 || a >= x.Shape.Rank) throw Fail(inputs, $"axis {a} is out of range for rank {x.Shape.Rank}");
            if (seen[a]) throw Fail(inputs, $"axis {a} repeated");
            seen[a] = true;
            if (Name is "max" or "min" && x.Shape[a] == 0) throw Fail(inputs, $"cannot take {Name} over empty axis {a}");
        }
        var dims = new List<long>();
        for (int i = 0; i < x.Shape.Rank; i++)
        {
            if (!seen[i]) dims.Add(x.Shape[i]);
            else if (attrs.KeepDims) dims.Add(1);
        }
        var dt = Name == "mean" ? DTypes.ToFloating(x.DType) : Name == "sum" && x.DType is DType.Int8 or DType.UInt8 or DType.Int32 ? DType.Int64 : x.DType;
        if (Name == "mean" && !x.DType.IsFloating()) throw Fail(inputs, "mean needs a floating operand; cast it first");
        return One(Shape.Own(dims.ToArray()), dt);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx) =>
        _grad == null ? base.Gradient(ctx) : [ctx.NeedsGrad(0) ? _grad(ctx) : null];

    /// <summary>The output gradient reshaped to keep-dims form and broadcast back to the input shape.</summary>
    internal static Tensor Expanded(GradContext c, Tensor g)
    {
        var a = c.AttrsAs<ReduceAttrs>();
        var x = c.Inputs[0];
        var keep = KeepShape(x.Shape, a.Resolve(x.Rank));
        var gk = g.Shape == keep ? g : Reshape(g, keep.ToArray());
        return BroadcastTo(gk, x.Shape);
    }

    internal static Shape KeepShape(Shape s, int[] axes)
    {
        var dims = s.ToArray();
        foreach (var a in axes) dims[a] = 1;
        return Shape.Own(dims);
    }

    internal static long Count(Shape s, int[] axes)
    {
        long n = 1;
        foreach (var a in axes) n *= s[a];
        return n;
    }
}

/// <summary>Axis of argmax/argmin (null: the flattened operand) and whether the reduced axis is kept as size 1.</summary>
/// <param name="Axis">Normalised axis in [0, rank), or null to reduce over all elements (row-major flat index).</param>
/// <param name="KeepDims">Keep the reduced axis (all axes when <paramref name="Axis"/> is null) as size-1 dimensions.</param>
public sealed record ArgReduceAttrs(int? Axis, bool KeepDims) : OpAttrs;

/// <summary>argmax / argmin: int64 index of the first extreme element along one axis (or in the flattened operand).</summary>
/// <remarks>Ties give the first index, as libtorch documents. NaN counts as the extreme (libtorch propagates NaN).</remarks>
public sealed class ArgReduceOp : Op<ArgReduceAttrs>
{
    internal ArgReduceOp(string name) : base(name) { }

    /// <inheritdoc />
    public override bool IsDifferentiable => false;

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, ArgReduceAttrs attrs)
    {
        Arity(inputs, 1);
        var x = inputs[0];
        // libtorch has no argmax/argmin kernel for bool.
        if (x.DType == DType.Bool) throw Fail(inputs, "bool operand; cast it first");
        int rank = x.Shape.Rank;
        if (attrs.Axis is not { } axis)
        {
            if (x.Shape.NumElements == 0) throw Fail(inputs, $"cannot take {Name} of an empty tensor");
            return One(attrs.KeepDims ? Shape.Own(Enumerable.Repeat(1L, rank).ToArray()) : Shape.Scalar, DType.Int64);
        }
        if (axis < 0 || axis >= rank) throw Fail(inputs, $"axis {axis} is out of range for rank {rank}");
        if (x.Shape[axis] == 0) throw Fail(inputs, $"cannot take {Name} over empty axis {axis}");
        var dims = new List<long>(rank);
        for (int i = 0; i < rank; i++)
        {
            if (i != axis) dims.Add(x.Shape[i]);
            else if (attrs.KeepDims) dims.Add(1);
        }
        return One(Shape.Own(dims.ToArray()), DType.Int64);
    }
}

public static partial class OpSet
{
    /// <summary>Index of the maximum (first one on ties), int64; not differentiable.</summary>
    public static readonly ArgReduceOp ArgMax = new("argmax");

    /// <summary>Index of the minimum (first one on ties), int64; not differentiable.</summary>
    public static readonly ArgReduceOp ArgMin = new("argmin");

    /// <summary>Sum over axes (int8/uint8/int32 sum to int64, as NumPy/PyTorch).</summary>
    public static readonly ReduceOp Sum = new("sum", true, c => ReduceOp.Expanded(c, c.Grad));

    /// <summary>Mean over axes (floating).</summary>
    public static readonly ReduceOp Mean = new("mean", true, c =>
    {
        var x = c.Inputs[0];
        long n = ReduceOp.Count(x.Shape, c.AttrsAs<ReduceAttrs>().Resolve(x.Rank));
        return ReduceOp.Expanded(c, Div(c.Grad, (double)Math.Max(n, 1)));
    });

    /// <summary>Maximum over axes; ties share the gradient equally (as libtorch's amax).</summary>
    public static readonly ReduceOp Max = new("max", true, c => ExtremumGrad(c));

    /// <summary>Minimum over axes; ties share the gradient equally (as libtorch's amin).</summary>
    public static readonly ReduceOp Min = new("min", true, c => ExtremumGrad(c));

    private static Tensor ExtremumGrad(GradContext c)
    {
        var x = c.Inputs[0];
        var y = ReduceOp.Expanded(c, c.Outputs[0]);
        var mask = Cast(Equal(x, y), x.DType);
        var a = c.AttrsAs<ReduceAttrs>();
        var count = Sum(mask, a.Resolve(x.Rank), keepDims: true);
        var g = ReduceOp.Expanded(c, c.Grad);
        return Div(Mul(g, mask), count);
    }
}
