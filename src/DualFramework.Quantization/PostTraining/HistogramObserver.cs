namespace DualFramework.Quantization;

/// <summary>
/// An observer that keeps a histogram of x over [−R, R) with <c>2·bins</c> equal bins. R is the first batch's max |x|;
/// when a later batch exceeds it, R doubles (adjacent bins merge exactly, nothing is re-estimated) until it covers the
/// batch, so at least half of the bins of each sign span the data.
/// </summary>
public abstract class HistogramObserver : Observer
{
    private readonly long[] _hist;
    private readonly int _bins;

    /// <summary>A histogram of <paramref name="binsPerSign"/> bins on each side of 0.</summary>
    protected HistogramObserver(int binsPerSign)
    {
        if (binsPerSign < 128 || binsPerSign % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(binsPerSign), binsPerSign, "The histogram needs an even number of at least 128 bins per sign.");
        _bins = binsPerSign;
        _hist = new long[2 * binsPerSign];
    }

    /// <summary>Half-width R of the histogram (0 until a non-zero value is seen).</summary>
    public double HalfRange { get; private set; }

    /// <summary>How many observed values were exactly 0 (all counted in the |x| histogram's first bin too).</summary>
    public long ExactZeros { get; private set; }

    /// <summary>Width of one bin, R / bins.</summary>
    public double BinWidth => HalfRange / _bins;

    /// <inheritdoc/>
    protected override void OnBatch(ReadOnlySpan<float> values, float batchMin, float batchMax)
    {
        double absMax = Math.Max(Math.Abs((double)batchMin), Math.Abs((double)batchMax));
        if (HalfRange == 0)
        {
            // Until a non-zero value arrives R is undefined; the values so far, all exact zeros, are only counted.
            if (absMax == 0)
            {
                ExactZeros += values.Length;
                return;
            }
            HalfRange = absMax;
            _hist[_bins] += ExactZeros;
        }
        while (absMax > HalfRange) Widen();
        double inv = _bins / HalfRange;
        int last = _hist.Length - 1;
        foreach (float v in values)
        {
            if (v == 0) ExactZeros++;
            int k = (int)Math.Floor((v + HalfRange) * inv);
            _hist[Math.Clamp(k, 0, last)]++;
        }
    }

    /// <summary>Histogram of |x| over [0, R): bin i counts |x| in [i·w, (i+1)·w) (both signs folded).</summary>
    public long[] AbsoluteHistogram()
    {
        var abs = new long[_bins];
        for (int i = 0; i < _bins; i++) abs[i] = _hist[_bins + i] + _hist[_bins - 1 - i];
        if (HalfRange == 0) abs[0] = ExactZeros;
        return abs;
    }

    /// <summary>The signed histogram over [−R, R) (a copy).</summary>
    public long[] SignedHistogram() => (long[])_hist.Clone();

    /// <summary>Clips [−t, t] to the observed [min, max] (a ReLU output keeps its floor of 0).</summary>
    protected (float Min, float Max) Clip(double threshold) =>
        (Math.Max(Min, (float)-threshold), Math.Min(Max, (float)threshold));

    // Doubling R: old bin k covers [−R + k·w, −R + (k+1)·w) and lies inside new bin (bins + k) / 2 of width 2w.
    private void Widen()
    {
        var merged = new long[_hist.Length];
        for (int k = 0; k < _hist.Length; k++) merged[(_bins + k) / 2] += _hist[k];
        merged.CopyTo(_hist, 0);
        HalfRange *= 2;
    }
}

/// <summary>
/// Percentile calibration. Symmetric (default, as ONNX Runtime's percentile calibrator): t is the upper edge of the first
/// |x| bin whose cumulative share reaches p/100, and the range is [−t, t] clipped to [min, max]. Otherwise the two
/// one-sided percentiles (100 − p)/2 and 100 − (100 − p)/2 of the signed histogram. Resolution: one bin width.
/// </summary>
public sealed class PercentileObserver : HistogramObserver
{
    private readonly double _percentile;
    private readonly bool _symmetric;

    /// <summary>An observer keeping <paramref name="percentile"/> (in (0, 100]) percent of the values.</summary>
    public PercentileObserver(double percentile = 99.99, bool symmetric = true, int binsPerSign = 4096) : base(binsPerSign)
    {
        if (!(percentile > 0 && percentile <= 100))
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "The percentile must be in (0, 100].");
        _percentile = percentile;
        _symmetric = symmetric;
    }

    /// <inheritdoc/>
    protected override (float Min, float Max) ComputeRange()
    {
        if (HalfRange == 0) return (Min, Max);
        if (_symmetric)
        {
            var abs = AbsoluteHistogram();
            return Clip((FirstReaching(abs, _percentile / 100) + 1) * BinWidth);
        }
        var h = SignedHistogram();
        double tail = (100 - _percentile) / 200;
        double lo = -HalfRange + FirstReaching(h, tail) * BinWidth;
        double hi = -HalfRange + (FirstReaching(h, 1 - tail) + 1) * BinWidth;
        return (Math.Max(Min, (float)lo), Math.Min(Max, (float)hi));
    }

    // Index of the first bin at which the cumulative share reaches `share`.
    private static int FirstReaching(long[] hist, double share)
    {
        double total = hist.Sum(), target = share * total, cum = 0;
        for (int i = 0; i < hist.Length; i++)
        {
            cum += hist[i];
            if (cum >= target && cum > 0) return i;
        }
        return hist.Length - 1;
    }
}

/// <summary>
/// Entropy calibration as TensorRT describes it (Migacz, "8-bit Inference with TensorRT", 2017), on the |x| histogram:
/// for each candidate threshold of i bins (i ≥ 128), the reference P is the first i bins with everything beyond folded
/// into bin i − 1, and Q is the first i bins merged into 128 levels and spread back over the bins that were non-zero;
/// the threshold with the least KL(P‖Q) wins (the first one on ties) and the range is [−t, t] clipped to [min, max].
/// Exact zeros are left out of the histogram: every range contains 0 exactly, so they carry no quantization error at any
/// threshold, and after a ReLU they are often half the values — counted, their spike in the first bin makes any merging of
/// that bin look costly, and the search picks a threshold a tenth of the range (ResNet18's ReLU outputs clipped from
/// [0, 23] to [0, 1.8], features' cosine similarity 0.22; caffe-int8-convert-tools drops the zero bin for the same reason).
/// </summary>
public sealed class EntropyObserver : HistogramObserver
{
    /// <summary>Levels of the candidate quantization (TensorRT: 128, the levels of one sign of int8).</summary>
    public const int QuantizedBins = 128;

    /// <summary>An entropy observer on a histogram of <paramref name="binsPerSign"/> bins per sign.</summary>
    public EntropyObserver(int binsPerSign = 4096) : base(binsPerSign) { }

    /// <inheritdoc/>
    protected override (float Min, float Max) ComputeRange()
    {
        if (HalfRange == 0) return (Min, Max);
        var abs = AbsoluteHistogram();
        abs[0] -= ExactZeros;
        return Clip(ThresholdBins(abs) * BinWidth);
    }

    /// <summary>
    /// The number of leading bins i of <paramref name="absHistogram"/> whose upper edge is the KL-optimal threshold.
    /// Histograms whose data fit in <see cref="QuantizedBins"/> bins need no clipping: the answer is their extent.
    /// </summary>
    public static int ThresholdBins(ReadOnlySpan<long> absHistogram, int quantizedBins = QuantizedBins)
    {
        int n = absHistogram.Length;
        while (n > 0 && absHistogram[n - 1] == 0) n--;
        if (n <= quantizedBins) return Math.Max(n, 1);
        var p = new double[n];
        var q = new double[n];
        int best = n;
        double bestKl = double.PositiveInfinity;
        for (int i = quantizedBins; i <= n; i++)
        {
            double outliers = 0;
            for (int k = i; k < n; k++) outliers += absHistogram[k];
            for (int k = 0; k < i; k++) p[k] = absHistogram[k];
            p[i - 1] += outliers;
            Candidate(absHistogram[..i], p.AsSpan(0, i), q.AsSpan(0, i), quantizedBins);
            double kl = Divergence(p.AsSpan(0, i), q.AsSpan(0, i));
            if (kl < bestKl)
            {
                bestKl = kl;
                best = i;
            }
        }
        return best;
    }

    // Q: the unclipped bins merged into `levels` groups (the last takes the remainder), each group's count spread evenly
    // over the bins where P is non-zero.
    private static void Candidate(ReadOnlySpan<long> slice, ReadOnlySpan<double> p, Span<double> q, int levels)
    {
        int width = slice.Length / levels;
        for (int j = 0; j < levels; j++)
        {
            int start = j * width, stop = j == levels - 1 ? slice.Length : start + width;
            double sum = 0;
            int nonZero = 0;
            for (int k = start; k < stop; k++)
            {
                sum += slice[k];
                if (p[k] != 0) nonZero++;
            }
            for (int k = start; k < stop; k++) q[k] = p[k] != 0 && nonZero > 0 ? sum / nonZero : 0;
        }
    }

    // KL(P‖Q) of the normalised histograms; a bin that P has and Q lacks costs as if Q held a tiny share there.
    private static double Divergence(ReadOnlySpan<double> p, ReadOnlySpan<double> q)
    {
        const double tiny = 1e-10;
        double sp = 0, sq = 0;
        for (int k = 0; k < p.Length; k++)
        {
            sp += p[k];
            sq += q[k];
        }
        if (sq == 0) return double.PositiveInfinity;
        double kl = 0;
        for (int k = 0; k < p.Length; k++)
        {
            if (p[k] == 0) continue;
            double pk = p[k] / sp, qk = q[k] == 0 ? tiny : q[k] / sq;
            kl += pk * Math.Log(pk / qk);
        }
        return kl;
    }
}
