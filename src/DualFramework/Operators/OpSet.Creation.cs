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

/// <summary>A 1-D range <c>start, start + step, …</c> stopping before <paramref name="Stop"/> (NumPy's arange).</summary>
/// <param name="Start">First value.</param>
/// <param name="Stop">Exclusive bound.</param>
/// <param name="Step">Increment (non-zero; negative counts down).</param>
/// <param name="DType">Output dtype (numeric, not bool).</param>
public sealed record ArangeAttrs(double Start, double Stop, double Step, DType DType) : OpAttrs
{
    /// <summary>Number of elements: <c>max(0, ceil((stop − start) / step))</c>.</summary>
    public long Length => (long)Math.Max(0, Math.Ceiling((Stop - Start) / Step));
}

/// <summary>Creates an evenly spaced 1-D range. Element i is <c>start + i·step</c>, computed in float64 (or int64 for
/// integer dtypes) and then converted to the dtype.</summary>
public sealed class ArangeOp : Op<ArangeAttrs>
{
    internal ArangeOp() : base("arange") { }

    /// <inheritdoc />
    public override bool IsDifferentiable => false;

    /// <inheritdoc />
    public override bool IsCreation => true;

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, ArangeAttrs attrs)
    {
        Arity(inputs, 0);
        var (start, stop, step, dt) = (attrs.Start, attrs.Stop, attrs.Step, attrs.DType);
        if (!double.IsFinite(start) || !double.IsFinite(stop) || !double.IsFinite(step))
            throw Fail(inputs, $"start {start}, stop {stop} and step {step} must be finite");
        if (step == 0) throw Fail(inputs, "step must not be zero");
        if (dt == DType.Bool) throw Fail(inputs, "cannot create a bool range");
        double count = Math.Ceiling((stop - start) / step);
        // 2^53: beyond it the float64 element count and values are no longer exact.
        if (count > 9.007199254740992E15) throw Fail(inputs, $"range of {count} elements is too long");
        long n = attrs.Length;
        if (dt.IsInteger())
        {
            if (start != Math.Floor(start) || step != Math.Floor(step))
                throw Fail(inputs, $"an {dt.Name()} range needs whole start and step, got {start} and {step}");
            var (lo, hi) = dt switch
            {
                DType.UInt8 => (0.0, 255.0),
                DType.Int8 => (-128.0, 127.0),
                DType.Int32 => (int.MinValue, (double)int.MaxValue),
                _ => (-9.007199254740992E15, 9.007199254740992E15),
            };
            double last = start + step * Math.Max(n - 1, 0);
            if (n > 0 && (Math.Min(start, last) < lo || Math.Max(start, last) > hi))
                throw Fail(inputs, $"range from {start} to {last} does not fit in {dt.Name()}");
        }
        return One(Shape.Own([n]), dt);
    }
}

/// <summary>Rows, columns and dtype of an identity matrix.</summary>
/// <param name="Rows">Number of rows (≥ 0).</param>
/// <param name="Cols">Number of columns (≥ 0).</param>
/// <param name="DType">Output dtype.</param>
public sealed record EyeAttrs(long Rows, long Cols, DType DType) : OpAttrs;

/// <summary>Creates a [rows, cols] matrix with ones on the main diagonal and zeros elsewhere.</summary>
public sealed class EyeOp : Op<EyeAttrs>
{
    internal EyeOp() : base("eye") { }

    /// <inheritdoc />
    public override bool IsDifferentiable => false;

    /// <inheritdoc />
    public override bool IsCreation => true;

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, EyeAttrs attrs)
    {
        Arity(inputs, 0);
        if (attrs.Rows < 0 || attrs.Cols < 0) throw Fail(inputs, $"negative size [{attrs.Rows}, {attrs.Cols}]");
        return One(Shape.Own([attrs.Rows, attrs.Cols]), attrs.DType);
    }
}

public static partial class OpSet
{
    /// <summary>Constant fill (zeros, ones, full).</summary>
    public static readonly FullOp Full = new();

    /// <summary>Evenly spaced 1-D range.</summary>
    public static readonly ArangeOp Arange = new();

    /// <summary>Identity matrix.</summary>
    public static readonly EyeOp Eye = new();
}
