using DualFramework.Quantization;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Quantization;

/// <summary>Range observers against hand-computed answers, and the scale/zero-point formulas.</summary>
[TestFixture]
public class ObserverTests
{
    [Test]
    public void MinMax_keeps_the_extremes_over_batches()
    {
        var o = new MinMaxObserver();
        o.Observe([0.5f, -1f, 2f]);
        o.Observe([-3f, 1f]);
        o.Observe([0f]);
        o.Range().Should().Be((-3f, 2f));
        o.Count.Should().Be(6);
    }

    [Test]
    public void Moving_average_follows_pytorchs_update_rule()
    {
        var o = new MovingAverageMinMaxObserver(0.01);
        o.Observe([-1f, 1f]); // first batch sets the range
        o.Observe([-3f, 5f]); // min: -1 + 0.01·(-3 + 1) = -1.02; max: 1 + 0.01·(5 - 1) = 1.04
        o.Observe([0f, 2f]); // min: -1.02 + 0.01·(0 + 1.02) = -1.0098; max: 1.04 + 0.01·(2 - 1.04) = 1.0496
        var (lo, hi) = o.Range();
        lo.Should().BeApproximately(-1.0098f, 1e-6f);
        hi.Should().BeApproximately(1.0496f, 1e-6f);
        o.Min.Should().Be(-3f, "the plain extremes are still tracked");
    }

    [Test]
    public void Percentile_of_a_uniform_magnitude_is_the_quantile_within_one_bin()
    {
        // |x| = (i + 0.5)/n for i < n, alternating signs: the 99.9th percentile of |x| is 0.999.
        const int n = 1_000_000;
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (i % 2 == 0 ? 1 : -1) * (i + 0.5f) / n;
        var o = new PercentileObserver(99.9, symmetric: true, binsPerSign: 4096);
        o.Observe(x);
        var (lo, hi) = o.Range();
        hi.Should().BeInRange(0.999f, 0.999f + (float)o.BinWidth + 1e-6f);
        lo.Should().Be(-hi, "symmetric: [-t, t] inside the observed range");
    }

    [Test]
    public void Percentile_of_a_standard_normal_is_3_89()
    {
        // P(|Z| ≤ 3.8906) = 0.9999; with 10⁶ seeded samples the estimate's standard error is about 0.025.
        var rng = new Random(0);
        var x = new float[1_000_000];
        for (int i = 0; i < x.Length; i++) x[i] = Normal(rng);
        var o = new PercentileObserver();
        o.Observe(x.AsSpan(0, 500_000));
        o.Observe(x.AsSpan(500_000));
        o.Range().Max.Should().BeApproximately(3.8906f, 0.1f);
        o.Range().Max.Should().BeLessThan(o.Max, "the largest samples are clipped");
    }

    [Test]
    public void Two_sided_percentile_cuts_half_the_tail_on_each_side()
    {
        // Uniform on [-1, 3): keeping 99% leaves 0.5% (0.02 wide) out on each side: [-0.98, 2.98].
        const int n = 400_000;
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -1f + 4f * (i + 0.5f) / n;
        var o = new PercentileObserver(99, symmetric: false);
        o.Observe(x);
        var (lo, hi) = o.Range();
        lo.Should().BeApproximately(-0.98f, (float)o.BinWidth + 1e-5f);
        hi.Should().BeApproximately(2.98f, (float)o.BinWidth + 1e-5f);
    }

    [Test]
    public void Histogram_range_doubling_merges_bins_exactly()
    {
        var o = new PercentileObserver(100, binsPerSign: 128);
        o.Observe([1f, -1f, 0.5f]);
        o.HalfRange.Should().Be(1);
        o.Observe([3.5f]); // R doubles twice: 1 → 2 → 4
        o.HalfRange.Should().Be(4);
        var h = o.SignedHistogram();
        h.Sum().Should().Be(4);
        // Bin width 4/128 = 1/32: 0.5 → bin 128 + 16, -1 → bin 96, 3.5 → bin 240; 1 was the clamped top edge while R was 1,
        // so it stays in the bin just below 1 (159) as bins merge.
        h[144].Should().Be(1);
        h[159].Should().Be(1);
        h[96].Should().Be(1);
        h[240].Should().Be(1);
        o.Range().Should().Be((-1f, 3.5f), "the 100th percentile is the whole range, clipped to the data");
    }

    [Test]
    public void Entropy_threshold_of_a_uniform_histogram_is_its_support_edge()
    {
        // 200 equally full bins out of 2048: every threshold below 200 folds mass into the last bin (KL > 0), threshold
        // 200 represents the data exactly (KL = 0), so the first minimum is 200.
        var h = new long[2048];
        for (int i = 0; i < 200; i++) h[i] = 10;
        EntropyObserver.ThresholdBins(h).Should().Be(200);
    }

    [Test]
    public void Entropy_needs_no_clipping_when_the_data_fit_the_levels()
    {
        var h = new long[2048];
        for (int i = 0; i < 100; i++) h[i] = i + 1;
        EntropyObserver.ThresholdBins(h).Should().Be(100);
    }

    [Test]
    public void Entropy_clips_a_far_outlier_of_normal_data()
    {
        var rng = new Random(1);
        var x = new float[200_000];
        for (int i = 0; i < x.Length; i++) x[i] = Normal(rng);
        x[7] = 100f;
        var o = new EntropyObserver();
        o.Observe(x);
        var (lo, hi) = o.Range();
        hi.Should().BeInRange(2f, 8f, "the threshold keeps the body of N(0, 1) and drops the outlier at 100");
        lo.Should().Be(Math.Max(-hi, o.Min), "[-t, t] clipped to the observed range");
    }

    [Test]
    public void Entropy_threshold_of_relu_outputs_ignores_their_exact_zeros()
    {
        // |N(0, 1)| plus as many exact zeros (a ReLU output): zeros are exact at every threshold, so the range must be the
        // one of the non-zero values alone; counted, the zero spike pulled the threshold to a fraction of the range.
        var rng = new Random(2);
        var positive = new float[100_000];
        for (int i = 0; i < positive.Length; i++) positive[i] = Math.Abs(Normal(rng));
        var relu = positive.Concat(new float[200_000]).ToArray();
        var alone = new EntropyObserver();
        alone.Observe(positive);
        var withZeros = new EntropyObserver();
        withZeros.Observe(relu);
        withZeros.ExactZeros.Should().Be(200_000);
        withZeros.Range().Max.Should().Be(alone.Range().Max);
        withZeros.Range().Min.Should().Be(0f, "the ReLU floor");
        withZeros.Range().Max.Should().BeGreaterThan(2f, "the body of |N(0, 1)| is kept");
    }

    [Test]
    public void Observers_reject_non_finite_values()
    {
        foreach (var o in new Observer[] { new MinMaxObserver(), new MovingAverageMinMaxObserver(), new PercentileObserver(), new EntropyObserver() })
        {
            o.Invoking(x => x.Observe([1f, float.NaN])).Should().Throw<QuantizationException>().WithMessage("*NaN*");
            o.Invoking(x => x.Observe([float.PositiveInfinity])).Should().Throw<QuantizationException>();
            o.Invoking(x => x.Range()).Should().Throw<QuantizationException>().WithMessage("*no values*");
        }
    }

    [Test]
    public void Asymmetric_parameters_match_the_formula()
    {
        // [-1, 3] on uint8: scale 4/255, zero point round(0 + 1/(4/255)) = round(63.75) = 64.
        var u = QuantMath.Asymmetric(-1f, 3f, 0, 255);
        u.Scale.Should().BeApproximately(4f / 255, 1e-7f);
        u.ZeroPoint.Should().Be(64);
        // The same on int8: zero point round(-128 + 63.75) = -64.
        QuantMath.Asymmetric(-1f, 3f, -128, 127).ZeroPoint.Should().Be(-64);
        // A range above 0 is widened to contain it: [2, 5] → [0, 5].
        var pos = QuantMath.Asymmetric(2f, 5f, -128, 127);
        pos.Scale.Should().BeApproximately(5f / 255, 1e-7f);
        pos.ZeroPoint.Should().Be(-128, "a ReLU-like range puts 0 on the integer minimum");
        QuantMath.Asymmetric(0f, 0f, -128, 127).Should().Be(new QuantParams(1f, 0));
    }

    [Test]
    public void Symmetric_and_reduced_ranges_match_the_formula()
    {
        QuantMath.Range(signed: true, symmetric: true, reduceRange: false).Should().Be((-127, 127));
        QuantMath.Range(signed: true, symmetric: false, reduceRange: false).Should().Be((-128, 127));
        QuantMath.Range(signed: true, symmetric: true, reduceRange: true).Should().Be((-64, 64));
        QuantMath.Range(signed: false, symmetric: false, reduceRange: true).Should().Be((0, 127));
        var s = QuantMath.Symmetric(-2.54f, 1f, -127, 127);
        s.Scale.Should().BeApproximately(0.02f, 1e-7f);
        s.ZeroPoint.Should().Be(0);
        QuantMath.Symmetric(-2.56f, 1f, -64, 64).Scale.Should().BeApproximately(0.04f, 1e-7f);
    }

    [Test]
    public void Zero_is_exactly_representable_and_rounding_is_half_to_even()
    {
        var rng = new Random(3);
        for (int i = 0; i < 1000; i++)
        {
            float a = (float)(rng.NextDouble() * 10 - 5), b = a + (float)(rng.NextDouble() * 10);
            foreach (var (qmin, qmax) in new[] { (-128, 127), (0, 255), (0, 127) })
            {
                var p = QuantMath.Asymmetric(a, b, qmin, qmax);
                QuantMath.Dequantize(QuantMath.Quantize(0f, p, qmin, qmax), p).Should().Be(0f);
            }
        }
        var unit = new QuantParams(1f, 0);
        QuantMath.Quantize(0.5f, unit, -128, 127).Should().Be(0);
        QuantMath.Quantize(1.5f, unit, -128, 127).Should().Be(2);
        QuantMath.Quantize(-2.5f, unit, -128, 127).Should().Be(-2);
        QuantMath.Quantize(300f, unit, -128, 127).Should().Be(127, "saturates");
    }

    internal static float Normal(Random rng)
    {
        double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
        return (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
