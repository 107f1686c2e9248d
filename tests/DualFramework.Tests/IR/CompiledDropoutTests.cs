using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.IR;


/// <summary>
/// Dropout on the graph backend: masks from a counter hash of the element index under the op seed, which inside a compiled
/// function is a per-run graph input drawn from the layer's generator, so masks change every run and replay eagerly.
/// </summary>
[TestFixture]
public class CompiledDropoutTests
{
    private static IComputeBackend Graph => BackendRegistry.Get("graph");

    // The hash as documented (docs/graph-backend.md), written out independently of the lowering.
    private static bool Keep(long i, ulong seed, double p)
    {
        const long M = 1L << 30;
        long k1 = (long)(seed & 0x7FFF_FFFF), k2 = (long)((seed >> 31) & 0x7FFF_FFFF);
        long v = ((i + k1) * 0x2C9E2D51 + k2) % M;
        v = v * (2 * v + 0x2F1B9C55) / (1L << 15) % M;
        v = (v * 0x3C6EF373 + k1) % M;
        v = v * (2 * v + 0x19D6A5E3) / (1L << 15) % M;
        return v >= (long)Math.Ceiling(p * M);
    }

    [TestCase(0x0123_4567_89AB_CDEFUL, 0.3)]
    [TestCase(42UL, 0.5)]
    public void Eager_graph_dropout_mask_is_the_documented_counter_hash(ulong seed, double p)
    {
        using var s = TensorScope.Begin();
        var x = Ops.Ones(new Shape(6, 50), DType.Float32, Graph);
        var (y, mask) = Ops.DropoutWithMask(x, p, seed);
        var m = mask.ToArray<bool>();
        var yv = y.ToArray<float>();
        for (int i = 0; i < m.Length; i++)
        {
            m[i].Should().Be(Keep(i, seed, p), $"element {i}");
            yv[i].Should().Be(m[i] ? (float)(1 / (1 - p)) : 0f);
        }
    }

    [Test]
    public void Eager_graph_dropout_reuses_one_session_for_every_seed()
    {
        using var s = TensorScope.Begin();
        var backend = (DualFramework.OnnxRuntime.GraphBackend)Graph;
        var x = Ops.Ones(new Shape(3, 7), DType.Float32, Graph);
        Ops.DropoutWithMask(x, 0.5, 1);
        int sessions = backend.CachedSessionCount;
        var masks = Enumerable.Range(2, 6).Select(seed => Ops.DropoutWithMask(x, 0.5, (ulong)seed).Mask.ToArray<bool>()).ToList();
        backend.CachedSessionCount.Should().Be(sessions, "the seed is an input of the cached session, not part of its key");
        masks.Select(m => string.Concat(m.Select(b => b ? '1' : '0'))).Distinct().Should().HaveCount(6);
    }

    [Test]
    public void Masks_are_balanced_and_uncorrelated_across_elements_and_seeds()
    {
        using var s = TensorScope.Begin();
        const int n = 1 << 20;
        var x = Ops.Ones(new Shape(1024, 1024), DType.Float32, Graph);
        var gen = new Generator(7UL);
        var a = Ops.DropoutWithMask(x, 0.25, gen.NextSeed()).Mask.ToArray<bool>();
        var b = Ops.DropoutWithMask(x, 0.25, gen.NextSeed()).Mask.ToArray<bool>();
        double Mean(bool[] m) => m.Count(v => v) / (double)n;
        // Kept fraction 0.75 ± 4σ (σ = √(0.75·0.25/n) ≈ 0.00042).
        Mean(a).Should().BeApproximately(0.75, 0.0017);
        Mean(b).Should().BeApproximately(0.75, 0.0017);
        static double Corr(bool[] u, int du, bool[] v, int dv, int count)
        {
            double su = 0, sv = 0, suv = 0;
            for (int i = 0; i < count; i++)
            {
                double p = u[i + du] ? 1 : 0, q = v[i + dv] ? 1 : 0;
                su += p; sv += q; suv += p * q;
            }
            double mu = su / count, mv = sv / count;
            return (suv / count - mu * mv) / Math.Sqrt(mu * (1 - mu) * mv * (1 - mv));
        }
        // |ρ| of independent masks is about 1/√n ≈ 0.001; 0.005 is 5σ.
        Corr(a, 0, a, 1, n - 1).Should().BeInRange(-0.005, 0.005, "neighbouring elements");
        Corr(a, 0, a, 1024, n - 1024).Should().BeInRange(-0.005, 0.005, "neighbouring rows");
        Corr(a, 0, b, 0, n).Should().BeInRange(-0.005, 0.005, "two seeds, same element");
        Corr(a, 1, b, 0, n - 1).Should().BeInRange(-0.005, 0.005, "two seeds, shifted by one element");
    }

    private static Sequential Net(IComputeBackend b)
    {
        using (BackendRegistry.Use(b))
        {
            var rng = new SeededRandom(3);
            return new Sequential(new Linear(12, 32, rng: rng), new ReLU(), new Dropout(0.5, rng), new Linear(32, 5, rng: rng));
        }
    }

    [Test]
    public void Compiled_dropout_draws_a_new_mask_every_run_from_the_layer_generator()
    {
        using var s = TensorScope.Begin();
        using var net = Net(Graph);
        var dropout = (Dropout)net[2];
        net.Train();
        using var f = new CompiledFunction(a => [dropout.Call(a[0])], model: net);
        var x = Ops.Ones(new Shape(8, 32), DType.Float32, Graph);
        long draws = dropout.Generator.Draws;
        var masks = new List<float[]>();
        for (int i = 0; i < 4; i++) masks.Add(f.CallReusingResults(x)[0].ToArray<float>());
        f.TraceCount.Should().Be(1);
        dropout.Generator.Draws.Should().Be(draws + 4, "one draw per run, as eager calls make (the trace's draw is undone)");
        for (int i = 1; i < 4; i++) masks[i].Should().NotEqual(masks[i - 1], $"run {i} draws a new seed");
        // The same draws eagerly give the same masks.
        dropout.Generator.Restore(draws);
        for (int i = 0; i < 4; i++) dropout.Call(x).ToArray<float>().Should().Equal(masks[i], $"run {i}");
    }

    [Test]
    public void Compiled_training_with_dropout_equals_eager_training_on_the_graph_backend()
    {
        using var s = TensorScope.Begin();
        using var compiledNet = Net(Graph);
        using var eagerNet = Net(Graph);
        using var co = new Adam(compiledNet.Parameters(), 1e-2);
        using var eo = new Adam(eagerNet.Parameters(), 1e-2);
        compiledNet.Train();
        eagerNet.Train();
        using var step = new CompiledFunction(a =>
        {
            co.ZeroGrad();
            var loss = LossFunctions.CrossEntropy(compiledNet.Call(a[0]), a[1]);
            loss.Backward();
            co.Step();
            return [loss];
        }, compiledNet.NamedVariables().Values, model: compiledNet);
        var losses = new List<double>();
        for (int i = 0; i < 6; i++)
        {
            using var it = TensorScope.Begin();
            var x = Tensor.FromArray(IRTestSupport.Rand(20 + i, 16 * 12), new Shape(16, 12), Graph);
            var y = Tensor.FromArray(Enumerable.Range(0, 16).Select(k => (long)((k + i) % 5)).ToArray(), new Shape(16), Graph);
            double compiled = step.CallReusingResults(x, y)[0].Item();
            eo.ZeroGrad();
            var loss = LossFunctions.CrossEntropy(eagerNet.Call(x), y);
            loss.Backward();
            eo.Step();
            compiled.Should().BeApproximately(loss.Item(), 1e-5, $"loss at step {i} (same seeds, same masks)");
            losses.Add(compiled);
        }
        losses.Distinct().Should().HaveCount(6);
        ((Dropout)compiledNet[2]).Generator.Draws.Should().Be(((Dropout)eagerNet[2]).Generator.Draws);
        var eager = eagerNet.StateDict();
        foreach (var (name, t) in compiledNet.StateDict()) IRTestSupport.ShouldMatch([t.ToFloatArray()], [eager[name].ToFloatArray()], 1e-4);
    }
}
