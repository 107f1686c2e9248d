using DualFramework.Backends;

namespace DualFramework.Operators;

/// <summary>A tensor of <paramref name="Shape"/> filled with <paramref name="Value"/>.</summary>
/// <param name="Shape">Output dimensions.</param>
/// <param name="Value">Fill value (converted to the dtype).</param>
/// <param name="DType">Output dtype.</param>
public sealed record FullAttrs(long[] Shape, double Value, DType DType) : OpAttrs;

/// <summary>Creates a constant-filled tensor.</summary>
public sealed class FullOp : Op<FullAttrs>
{
    internal FullOp() : base("full") { }

    /// <inheritdoc />
    public override bool IsDifferentiable => false;

    /// <inheritdoc />
    public override bool IsCreation => true;

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, FullAttrs attrs)
    {
        Arity(inputs, 0);
        foreach (var d in attrs.Shape)
            if (d < 0) throw Fail(inputs, $"negative dimension in shape [{string.Join(", ", attrs.Shape)}]");
        return One(Shape.Own(attrs.Shape), attrs.DType);
    }
}

public static partial class OpSet
{
    /// <summary>Constant fill (zeros, ones, full).</summary>
    public static readonly FullOp Full = new();
}
