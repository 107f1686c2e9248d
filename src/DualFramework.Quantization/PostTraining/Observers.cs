namespace DualFramework.Quantization;

/// <summary>
/// Watches the values one tensor takes over the calibration batches and proposes a range [min, max] for its
/// quantization. One <see cref="Observe"/> call is one batch (the moving average counts batches).
/// </summary>
public abstract class Observer
{
    /// <summary>Number of values observed so far.</summary>
    public long Count { get; private set; }

    /// <summary>Smallest value observed (+∞ before any).</summary>
    public float Min { get; private set; } = float.PositiveInfinity;

    /// <summary>Largest value observed (−∞ before any).</summary>
    public float Max { get; private set; } = float.NegativeInfinity;

    /// <summary>Adds one batch of values.</summary>
    /// <exception cref="QuantizationException">A value is NaN or infinite.</exception>
    public void Observe(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty) return;
        float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
        foreach (float v in values)
        {
            // One comparison pair per value; a NaN fails both and is caught by the finiteness check below.
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        if (!float.IsFinite(lo) || !float.IsFinite(hi) || HasNaN(values))
            throw new QuantizationException("Observed a NaN or infinite value; calibration needs finite activations.");
        Count += values.Length;
        Min = Math.Min(Min, lo);
        Max = Math.Max(Max, hi);
        OnBatch(values, lo, hi);
    }

    /// <summary>The proposed range.</summary>
    /// <exception cref="QuantizationException">Nothing was observed.</exception>
    public (float Min, float Max) Range()
    {
        if (Count == 0) throw new QuantizationException("The observer saw no values.");
        return ComputeRange();
    }

    /// <summary>Called with each (finite, non-empty) batch and its min/max.</summary>
    protected abstract void OnBatch(ReadOnlySpan<float> values, float batchMin, float batchMax);

    /// <summary>The range, once at least one value was observed.</summary>
    protected abstract (float Min, float Max) ComputeRange();

    /// <summary>The observer <paramref name="options"/> asks for.</summary>
    public static Observer Create(StaticQuantizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Method switch
        {
            CalibrationMethod.MinMax => new MinMaxObserver(),
            CalibrationMethod.MovingAverageMinMax => new MovingAverageMinMaxObserver(options.AveragingConstant),
            CalibrationMethod.Percentile => new PercentileObserver(options.Percentile, options.PercentileSymmetric, options.HistogramBins),
            CalibrationMethod.Entropy => new EntropyObserver(options.HistogramBins),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Method, "Unknown calibration method."),
        };
    }

    private static bool HasNaN(ReadOnlySpan<float> values)
    {
        foreach (float v in values) if (float.IsNaN(v)) return true;
        return false;
    }
}

/// <summary>The range is the smallest and largest value seen.</summary>
public sealed class MinMaxObserver : Observer
{
    /// <inheritdoc/>
    protected override void OnBatch(ReadOnlySpan<float> values, float batchMin, float batchMax) { }

    /// <inheritdoc/>
    protected override (float Min, float Max) ComputeRange() => (Min, Max);
}

/// <summary>
/// PyTorch's <c>MovingAverageMinMaxObserver</c>: the first batch sets the range; each later batch moves it by
/// <c>c · (batch − running)</c>, i.e. <c>min ← min + c·(batch_min − min)</c> and the same for max.
/// </summary>
public sealed class MovingAverageMinMaxObserver : Observer
{
    private readonly double _c;
    private double _min = double.NaN, _max = double.NaN;

    /// <summary>An observer with averaging constant <paramref name="averagingConstant"/> in (0, 1].</summary>
    public MovingAverageMinMaxObserver(double averagingConstant = 0.01)
    {
        if (!(averagingConstant > 0 && averagingConstant <= 1))
            throw new ArgumentOutOfRangeException(nameof(averagingConstant), averagingConstant, "The averaging constant must be in (0, 1].");
        _c = averagingConstant;
    }

    /// <inheritdoc/>
    protected override void OnBatch(ReadOnlySpan<float> values, float batchMin, float batchMax)
    {
        if (double.IsNaN(_min))
        {
            (_min, _max) = (batchMin, batchMax);
            return;
        }
        _min += _c * (batchMin - _min);
        _max += _c * (batchMax - _max);
    }

    /// <inheritdoc/>
    protected override (float Min, float Max) ComputeRange() => ((float)_min, (float)_max);
}
