namespace DualFramework.Operators;

/// <summary>Number of classes and result dtype of one_hot.</summary>
/// <param name="Depth">Number of classes (≥ 1): the size of the new last axis.</param>
/// <param name="DType">Result dtype (1 at the index, 0 elsewhere).</param>
public sealed record OneHotAttrs(long Depth, DType DType) : OpAttrs;

/// <summary>
/// one_hot(indices): integer indices of any shape S → a tensor of shape S + [depth] with 1 at each index and 0 elsewhere.
/// </summary>
/// <remarks>Index values are only known at run time, so they are not checked here: the torch backend raises (libtorch's
/// error) when an index lies outside [0, depth).</remarks>
public sealed class OneHotOp : Op<OneHotAttrs>
{
    internal OneHotOp() : base("one_hot") { }

    /// <inheritdoc />
    public override bool IsDifferentiable => false;

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, OneHotAttrs attrs)
    {
        Arity(inputs, 1);
        var x = inputs[0];
        if (!x.DType.IsInteger()) throw Fail(inputs, $"indices must have an integer dtype, got {x.DType.Name()}");
        if (attrs.Depth < 1) throw Fail(inputs, $"depth {attrs.Depth} must be positive");
        var dims = new long[x.Shape.Rank + 1];
        x.Shape.Dims.CopyTo(dims);
        dims[^1] = attrs.Depth;
        return One(Shape.Own(dims), attrs.DType);
    }
}

public static partial class OpSet
{
    /// <summary>One-hot encoding of integer indices (not differentiable).</summary>
    public static readonly OneHotOp OneHot = new();
}
