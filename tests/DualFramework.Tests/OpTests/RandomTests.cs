using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;


[TestFixture]
public class RandomTests
{
    private const int N = 100_000;

    [Test]
    public void Generator_derives_splitmix64_seeds()
    {
        // Published splitmix64 outputs for state 0: 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4.
        var g = new Generator(0UL);
        g.NextSeed().Should().Be(0xE220A8397B1DCDAFUL);
        g.NextSeed().Should().Be(0x6E789E6AA1B965F4UL);
        g.Draws.Should().Be(2);
        g.Reset();
        g.NextSeed().Should().Be(0xE220A8397B1DCDAFUL);

        var a = new Generator(123L);
        var b = new Generator(123L);
        var sa = Enumerable.Range(0, 5).Select(_ => a.NextSeed()).ToArray();
        Enumerable.Range(0, 5).Select(_ => b.NextSeed()).Should().Equal(sa);
        sa.Distinct().Should().HaveCount(5);
        new Generator(124L).NextSeed().Should().NotBe(sa[0]);
        a.Fork().NextSeed().Should().NotBe(a.NextSeed());
    }

    [Test]
    public void Random_uniform_is_reproducible_per_seed()
    {
        using var s = TensorScope.Begin();
        var a = Ops.RandomUniform(new Shape(3, 4), 11UL).ToFloatArray();
        Ops.RandomUniform(new Shape(3, 4), 11UL).ToFloatArray().Should().Equal(a);
        Ops.RandomUniform(new Shape(3, 4), 12UL).ToFloatArray().Should().NotEqual(a);
        var g1 = new Generator(5L);
        var g2 = new Generator(5L);
        var x1 = Ops.RandomUniform(new Shape(10), g1, dtype: DType.Float64).ToDoubleArray();
        var y1 = Ops.RandomUniform(new Shape(10), g1, dtype: DType.Float64).ToDoubleArray();
        Ops.RandomUniform(new Shape(10), g2, dtype: DType.Float64).ToDoubleArray().Should().Equal(x1);
        Ops.RandomUniform(new Shape(10), g2, dtype: DType.Float64).ToDoubleArray().Should().Equal(y1);
        y1.Should().NotEqual(x1);
    }

    [Test]
    public void Random_normal_is_reproducible_per_seed()
    {
        using var s = TensorScope.Begin();
        var a = Ops.RandomNormal(new Shape(20), 11UL, dtype: DType.Float64).ToDoubleArray();
        Ops.RandomNormal(new Shape(20), 11UL, dtype: DType.Float64).ToDoubleArray().Should().Equal(a);
        Ops.RandomNormal(new Shape(20), 99UL, dtype: DType.Float64).ToDoubleArray().Should().NotEqual(a);
        var g = new Generator(8L);
        Ops.RandomNormal(new Shape(20), g).ToFloatArray().Should().NotEqual(Ops.RandomNormal(new Shape(20), g).ToFloatArray());
    }

    private static (double mean, double var) Moments(double[] v)
    {
        double m = v.Average();
        return (m, v.Sum(x => (x - m) * (x - m)) / (v.Length - 1));
    }

    [TestCase(DType.Float64, -2.0, 3.0)]
    [TestCase(DType.Float32, 10.0, 10.5)]
    public void Random_uniform_range_and_moments(DType dtype, double low, double high)
    {
        using var s = TensorScope.Begin();
        var t = Ops.RandomUniform(new Shape(N), 2024UL, low, high, dtype);
        t.Spec.Should().Be(new TensorSpec(new Shape(N), dtype));
        var v = t.ToDoubleArray();
        v.Min().Should().BeGreaterThanOrEqualTo(low);
        if (dtype == DType.Float64) v.Max().Should().BeLessThan(high);
        else v.Max().Should().BeLessThanOrEqualTo(high); // rounding to float32 may reach the bound
        double w = high - low, variance = w * w / 12;
        var (mean, var) = Moments(v);
        // Mean: 6 standard errors. Variance of U: its estimator has variance (μ4 − σ⁴)/n with μ4 = w⁴/80.
        mean.Should().BeApproximately((low + high) / 2, 6 * Math.Sqrt(variance / N));
        var.Should().BeApproximately(variance, 6 * Math.Sqrt((Math.Pow(w, 4) / 80 - variance * variance) / N));
        // The histogram is flat: each tenth of the range holds about 10 %.
        var bins = new int[10];
        foreach (var x in v) bins[Math.Min((int)((x - low) / w * 10), 9)]++;
        foreach (var c in bins) ((double)c).Should().BeApproximately(N / 10.0, 6 * Math.Sqrt(N * 0.1 * 0.9));
    }

    [TestCase(DType.Float64, 0.0, 1.0)]
    [TestCase(DType.Float32, -3.0, 0.5)]
    public void Random_normal_moments(DType dtype, double mu, double sigma)
    {
        using var s = TensorScope.Begin();
        var v = Ops.RandomNormal(new Shape(100, 1000), 77UL, mu, sigma, dtype).ToDoubleArray();
        v.Length.Should().Be(N);
        var (mean, var) = Moments(v);
        mean.Should().BeApproximately(mu, 6 * sigma / Math.Sqrt(N));
        // For a normal sample the variance estimator has standard deviation σ²·√(2/(n−1)).
        var.Should().BeApproximately(sigma * sigma, 6 * sigma * sigma * Math.Sqrt(2.0 / (N - 1)));
        // About 68.27 % within one sigma.
        double inside = v.Count(x => Math.Abs(x - mu) < sigma) / (double)N;
        inside.Should().BeApproximately(0.682689, 6 * Math.Sqrt(0.6827 * 0.3173 / N));
    }

    [TestCase(DType.Float16)]
    [TestCase(DType.BFloat16)]
    public void Random_ops_support_half_precision(DType dtype)
    {
        using var s = TensorScope.Begin();
        var u = Ops.RandomUniform(new Shape(1000), 3UL, -1, 1, dtype);
        u.DType.Should().Be(dtype);
        var uv = u.ToDoubleArray();
        uv.Should().OnlyContain(x => x >= -1 && x <= 1);
        uv.Average().Should().BeApproximately(0, 0.15);
        var n = Ops.RandomNormal(new Shape(1000), 3UL, 2, 0.5, dtype);
        n.DType.Should().Be(dtype);
        n.ToDoubleArray().Average().Should().BeApproximately(2, 0.15);
    }

    [Test]
    public void Random_edge_cases_and_errors()
    {
        using var s = TensorScope.Begin();
        Ops.RandomUniform(new Shape(0, 3), 1UL).NumElements.Should().Be(0);
        Ops.RandomUniform(new Shape(5), 1UL, 2, 2, DType.Float64).ToDoubleArray().Should().AllBeEquivalentTo(2.0);
        Ops.RandomNormal(new Shape(5), 1UL, 1.5, 0, DType.Float64).ToDoubleArray().Should().AllBeEquivalentTo(1.5);
        Ops.RandomUniform(Shape.Scalar, 1UL).Rank.Should().Be(0);

        Action intType = () => Ops.RandomUniform(new Shape(3), 1UL, dtype: DType.Int32);
        intType.Should().Throw<OpException>().WithMessage("*floating*");
        Action boolType = () => Ops.RandomNormal(new Shape(3), 1UL, dtype: DType.Bool);
        boolType.Should().Throw<OpException>().WithMessage("*floating*");
        Action reversed = () => Ops.RandomUniform(new Shape(3), 1UL, 1, 0);
        reversed.Should().Throw<OpException>().WithMessage("*low 1 is greater than high 0*");
        Action infinite = () => Ops.RandomUniform(new Shape(3), 1UL, 0, double.PositiveInfinity);
        infinite.Should().Throw<OpException>().WithMessage("*finite*");
        Action negStd = () => Ops.RandomNormal(new Shape(3), 1UL, 0, -1);
        negStd.Should().Throw<OpException>().WithMessage("*std*");
        Action negDim = () => DualFramework.Operators.Dispatcher.Create(DualFramework.Operators.OpSet.RandomNormal,
            new DualFramework.Operators.RandomNormalAttrs([2, -1], 0, 1, DType.Float32, 1), null);
        negDim.Should().Throw<OpException>().WithMessage("*negative dimension*");
        DualFramework.Operators.OpSet.RandomUniform.IsDifferentiable.Should().BeFalse();
        DualFramework.Operators.OpSet.RandomNormal.IsCreation.Should().BeTrue();
    }
}
