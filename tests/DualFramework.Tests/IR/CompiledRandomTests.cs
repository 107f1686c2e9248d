using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.Operators;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.IR;


/// <summary>
/// random_uniform / random_normal on the graph backend: values from the counter hash of the element index under the op
/// seed (the same hash as dropout's), fed as session inputs eagerly and as per-run inputs inside a compiled function.
/// </summary>
[TestFixture]
public class CompiledRandomTests
{
    private static IComputeBackend Graph => BackendRegistry.Get("graph");

    private const double Levels = 1L << 30;

    // The hash as documented (docs/graph-backend.md), written out independently of the lowering.
    private static long Hash(long i, ulong seed)
    {
        const long M = 1L << 30;
        long k1 = (long)(seed & 0x7FFF_FFFF), k2 = (long)((seed >> 31) & 0x7FFF_FFFF);
        long v = ((i + k1) * 0x2C9E2D51 + k2) % M;
        v = v * (2 * v + 0x2F1B9C55) / (1L << 15) % M;
        v = (v * 0x3C6EF373 + k1) % M;
        return v * (2 * v + 0x19D6A5E3) / (1L << 15) % M;
    }

    // Uniform on [0, 1): 30 bits from one hash, or 53 bits from the hashes of counters 2i and 2i + 1 for float64.
    private static double U01(long i, ulong seed, bool wide) =>
        wide ? ((Hash(2 * i, seed) << 23) + (Hash(2 * i + 1, seed) >> 7)) / (double)(1L << 53) : Hash(i, seed) / Levels;

    // Box–Muller with u₁ = (h(2i) + ½)/2³⁰ and u₂ = h(2i + 1)/2³⁰.
    private static double Z(long i, ulong seed) =>
        Math.Sqrt(-2 * Math.Log((Hash(2 * i, seed) + 0.5) / Levels)) * Math.Cos(2 * Math.PI * (Hash(2 * i + 1, seed) / Levels));

    [TestCase(0x0123_4567_89AB_CDEFUL)]
    [TestCase(42UL)]
    public void Uniform_values_are_the_documented_hash(ulong seed)
    {
        using var s = TensorScope.Begin();
        var f32 = Ops.RandomUniform(new Shape(3, 5), seed, -2, 3, DType.Float32, Graph).ToArray<float>();
        for (int i = 0; i < f32.Length; i++) f32[i].Should().Be((float)(U01(i, seed, false) * 5 + -2), $"float32 element {i}");
        var f64 = Ops.RandomUniform(new Shape(7), seed, 10, 10.5, DType.Float64, Graph).ToDoubleArray();
        for (int i = 0; i < f64.Length; i++) f64[i].Should().Be(U01(i, seed, true) * 0.5 + 10, $"float64 element {i}");
        var f16 = Ops.RandomUniform(new Shape(9), seed, -1, 1, DType.Float16, Graph).ToDoubleArray();
        for (int i = 0; i < f16.Length; i++) f16[i].Should().BeApproximately(U01(i, seed, false) * 2 - 1, 1e-3, $"float16 element {i}");
    }

    [TestCase(0x0123_4567_89AB_CDEFUL)]
    [TestCase(42UL)]
    public void Normal_values_are_box_muller_of_two_hashes(ulong seed)
    {
        using var s = TensorScope.Begin();
        var f64 = Ops.RandomNormal(new Shape(4, 5), seed, 2, 0.5, DType.Float64, Graph).ToDoubleArray();
        for (int i = 0; i < f64.Length; i++)
        {
            double want = 2 + 0.5 * Z(i, seed);
            f64[i].Should().BeApproximately(want, 1e-12 * (1 + Math.Abs(want)), $"float64 element {i}");
        }
        var f32 = Ops.RandomNormal(new Shape(11), seed, -1, 3, DType.Float32, Graph).ToArray<float>();
        for (int i = 0; i < f32.Length; i++) f32[i].Should().BeApproximately((float)(-1 + 3 * Z(i, seed)), 1e-6f * (1 + Math.Abs(f32[i])), $"float32 element {i}");
        var bf16 = Ops.RandomNormal(new Shape(6), seed, 0, 1, DType.BFloat16, Graph);
        bf16.DType.Should().Be(DType.BFloat16);
        var b = bf16.ToDoubleArray();
        for (int i = 0; i < b.Length; i++) b[i].Should().BeApproximately(Z(i, seed), 1e-2 * (1 + Math.Abs(b[i])), $"bfloat16 element {i}");
    }

    private const int N = 1 << 20;

    private static double[] Sample(bool normal, ulong seed, DType dtype) =>
        (normal ? Ops.RandomNormal(new Shape(1024, 1024), seed, 0, 1, dtype, Graph) : Ops.RandomUniform(new Shape(1024, 1024), seed, 0, 1, dtype, Graph))
        .ToDoubleArray();

    private static double Corr(double[] u, int du, double[] v, int dv, int count)
    {
        double su = 0, sv = 0, suv = 0, suu = 0, svv = 0;
        for (int i = 0; i < count; i++)
        {
            double p = u[i + du], q = v[i + dv];
            su += p; sv += q; suv += p * q; suu += p * p; svv += q * q;
        }
        double mu = su / count, mv = sv / count;
        return (suv / count - mu * mv) / Math.Sqrt((suu / count - mu * mu) * (svv / count - mv * mv));
    }

    // |ρ| of independent samples is about 1/√n ≈ 0.001; 0.005 is 5σ.
    private static void Uncorrelated(double[] a, double[] b)
    {
        Corr(a, 0, a, 1, N - 1).Should().BeInRange(-0.005, 0.005, "neighbouring elements");
        Corr(a, 0, a, 1024, N - 1024).Should().BeInRange(-0.005, 0.005, "neighbouring rows");
        Corr(a, 0, b, 0, N).Should().BeInRange(-0.005, 0.005, "two seeds, same element");
        Corr(a, 1, b, 0, N - 1).Should().BeInRange(-0.005, 0.005, "two seeds, shifted by one element");
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void Uniform_statistics_over_a_million_samples(DType dtype)
    {
        using var s = TensorScope.Begin();
        var gen = new Generator(5UL);
        var a = Sample(false, gen.NextSeed(), dtype);
        var b = Sample(false, gen.NextSeed(), dtype);
        a.Min().Should().BeGreaterThanOrEqualTo(0);
        if (dtype == DType.Float64) a.Max().Should().BeLessThan(1);
        else a.Max().Should().BeLessThanOrEqualTo(1); // rounding to float32 may reach the bound
        double mean = a.Average(), var = a.Sum(x => (x - mean) * (x - mean)) / (N - 1);
        // Mean ± 5 standard errors (σ² = 1/12); the variance estimator's variance is (μ₄ − σ⁴)/n with μ₄ = 1/80.
        mean.Should().BeApproximately(0.5, 5 * Math.Sqrt(1.0 / 12 / N));
        var.Should().BeApproximately(1.0 / 12, 5 * Math.Sqrt((1.0 / 80 - 1.0 / 144) / N));
        // 64 equal bins: χ² with 63 degrees of freedom has mean 63 and σ = √126 ≈ 11.2; 5σ above the mean is 119.
        var bins = new long[64];
        foreach (var x in a) bins[Math.Min((int)(x * 64), 63)]++;
        double expected = N / 64.0;
        bins.Sum(c => (c - expected) * (c - expected) / expected).Should().BeLessThan(119);
        Uncorrelated(a, b);
        if (dtype == DType.Float64)
        {
            // Finer than one hash's 2³⁰ levels: almost no value is a multiple of 2⁻³⁰, and a million 53-bit draws do not collide.
            a.Count(x => x * Levels == Math.Floor(x * Levels)).Should().BeLessThan(N / 1000);
            a.Distinct().Count().Should().Be(N);
        }
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void Normal_statistics_and_tails_over_a_million_samples(DType dtype)
    {
        using var s = TensorScope.Begin();
        var gen = new Generator(9UL);
        var a = Sample(true, gen.NextSeed(), dtype);
        var b = Sample(true, gen.NextSeed(), dtype);
        a.Should().OnlyContain(x => double.IsFinite(x) && Math.Abs(x) <= 6.56, "u₁ > 0 bounds |z| by √(62·ln 2)");
        double mean = a.Average();
        double M(int k) => a.Sum(x => Math.Pow(x - mean, k)) / N;
        double var = M(2);
        // Standard errors for a normal sample: mean 1/√n, variance √(2/n), skewness √(6/n), excess kurtosis √(24/n); 5σ each.
        mean.Should().BeApproximately(0, 5 / Math.Sqrt(N));
        var.Should().BeApproximately(1, 5 * Math.Sqrt(2.0 / N));
        (M(3) / Math.Pow(var, 1.5)).Should().BeApproximately(0, 5 * Math.Sqrt(6.0 / N));
        (M(4) / (var * var) - 3).Should().BeApproximately(0, 5 * Math.Sqrt(24.0 / N));
        // Two-sided tail fractions P(|z| > t) = erfc(t/√2), each ± 5 binomial standard errors.
        foreach (var (t, p) in new[] { (1.0, 0.31731050786), (2.0, 0.04550026390), (3.0, 0.00269979606), (4.0, 0.0000633424837) })
        {
            double got = a.Count(x => Math.Abs(x) > t) / (double)N;
            got.Should().BeApproximately(p, 5 * Math.Sqrt(p * (1 - p) / N), $"P(|z| > {t})");
        }
        // Quantiles: the 0.1 % and 99.9 % points of N(0, 1) are ∓3.0902; the sample's have standard error ≈ 0.01 at n = 2²⁰.
        var sorted = a.OrderBy(x => x).ToArray();
        sorted[N / 1000].Should().BeApproximately(-3.0902, 0.05);
        sorted[N - N / 1000].Should().BeApproximately(3.0902, 0.05);
        sorted[N / 2].Should().BeApproximately(0, 0.005);
        Uncorrelated(a, b);
    }

    [Test]
    public void Eager_graph_random_ops_reuse_one_session_per_signature_for_every_seed()
    {
        using var s = TensorScope.Begin();
        var backend = (DualFramework.OnnxRuntime.GraphBackend)Graph;
        var shape = new Shape(5, 7);
        Ops.RandomUniform(shape, 1UL, -1, 1, DType.Float32, Graph);
        Ops.RandomNormal(shape, 1UL, 0, 2, DType.Float64, Graph);
        int sessions = backend.CachedSessionCount;
        var uniforms = new List<string>();
        var normals = new List<string>();
        for (ulong seed = 2; seed < 202; seed++)
        {
            uniforms.Add(string.Join(",", Ops.RandomUniform(shape, seed, -1, 1, DType.Float32, Graph).ToArray<float>()));
            normals.Add(string.Join(",", Ops.RandomNormal(shape, seed, 0, 2, DType.Float64, Graph).ToDoubleArray()));
        }
        backend.CachedSessionCount.Should().Be(sessions, "the seed is an input of the cached session, not part of its key");
        uniforms.Distinct().Should().HaveCount(200);
        normals.Distinct().Should().HaveCount(200);
        // The same seed replays.
        string.Join(",", Ops.RandomUniform(shape, 2UL, -1, 1, DType.Float32, Graph).ToArray<float>()).Should().Be(uniforms[0]);
    }

    [Test]
    public void Compiled_random_ops_draw_new_values_every_run_and_replay_from_the_generator_state()
    {
        using var s = TensorScope.Begin();
        var gen = new Generator(21UL);
        var shape = new Shape(4, 8);
        using var f = new CompiledFunction(a =>
            [Ops.Add(a[0], Ops.RandomNormal(shape, gen, 1, 2)), Ops.RandomUniform(shape, gen, -1, 1, DType.Float64)], generators: [gen]);
        var x = Ops.Zeros(shape, DType.Float32, Graph);
        long before = gen.Draws;
        List<(float[] N, double[] U)> Runs() =>
            Enumerable.Range(0, 3).Select(_ => f.Call(x)).Select(r => (r[0].ToArray<float>(), r[1].ToDoubleArray())).ToList();
        var runs = Runs();
        f.TraceCount.Should().Be(1);
        f.LastTracedGraph!.Nodes.Select(n => n.Op).Should().Contain([OpSet.RandomNormal, OpSet.RandomUniform], "random ops are traced, not captured as constants");
        gen.Draws.Should().Be(before + 6, "two draws per run, as eager calls make (the trace's draws are undone)");
        for (int i = 1; i < runs.Count; i++)
        {
            runs[i].N.Should().NotEqual(runs[i - 1].N, $"run {i} draws new seeds");
            runs[i].U.Should().NotEqual(runs[i - 1].U, $"run {i} draws new seeds");
        }
        // The same generator state replays the same runs, compiled and eagerly.
        gen.Restore(before);
        var again = Runs();
        gen.Restore(before);
        for (int i = 0; i < runs.Count; i++)
        {
            again[i].N.Should().Equal(runs[i].N, $"compiled replay of run {i}");
            again[i].U.Should().Equal(runs[i].U, $"compiled replay of run {i}");
            Ops.Add(x, Ops.RandomNormal(shape, gen, 1, 2, backend: Graph)).ToArray<float>().Should().Equal(runs[i].N, $"eager run {i}");
            Ops.RandomUniform(shape, gen, -1, 1, DType.Float64, Graph).ToDoubleArray().Should().Equal(runs[i].U, $"eager run {i}");
        }
    }
}
