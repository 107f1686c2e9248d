using DualFramework.Backends;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using FluentAssertions;
using NUnit.Framework;
using static DualFramework.Tests.Support.Fp32ErrorModel;

namespace DualFramework.Tests.Parity;

/// <summary>
/// MLP and CNN training on both backends from identical weights and batches, with tolerances from an fp32 error model
/// (docs/parity.md) rather than tuned to one CPU. Each backend may sum in any order (libtorch's oneDNN/MKL kernels differ
/// between AVX2 and AVX-512; ONNX Runtime's MLAS picks its own): a sum of <c>K</c> float32 terms is then off by at most
/// <c>γ_K·Σ|terms| ≈ K·u·Σ|terms|</c> (u = 2⁻²⁴), whatever the order. So the tests compare:
/// <list type="bullet">
/// <item>gradients at the same parameters at every step of a real Adam run (norm-wise, bound <c>2·γ_K</c> relative to
/// the gradient's norm, K the longest reduction in the network), not Adam trajectories, whose normalisation turns a
/// rounding-level gradient (a true zero) into a full learning-rate step with a backend-dependent sign;</item>
/// <item>SGD trajectories, where a per-step difference of that size grows at most linearly over the steps.</item>
/// </list>
/// </summary>
[TestFixture]
[Category("Parity")]
public class TrainingParityTests
{
    // K: rounding errors of successive reductions add up along the computation (γ_a + γ_b ≤ γ_(a+b)), so K sums the
    // reduction lengths along the longest path: forward (each layer's fan-in, then the 10-way softmax), backward (each
    // layer's fan-out) and the weight gradient's sum over batch × output positions.
    private static int PathReduction(string kind) => kind == "mlp"
        ? (64 + 32 + 10) + (10 + 32) + Batch
        : (9 + 36 + 32 + 16 + 10) + (10 + 16 + 32 + 8 * 9) + Batch * 8 * 8;

    private const int Batch = 16;

    private static Module Build(string kind, IComputeBackend backend)
    {
        using (BackendRegistry.Use(backend)) // Init creates parameters on the default backend
        {
            var rng = new SeededRandom(42);
            return kind == "mlp"
                ? new Sequential(new Flatten(), new Linear(64, 32, rng: rng), new ReLU(), new Linear(32, 10, rng: rng))
                : new Sequential(new Conv2d(1, 4, 3, padding: 1, rng: rng), new ReLU(), new MaxPool2d(2),
                    new Conv2d(4, 8, 3, padding: 1, rng: rng), new ReLU(), new MaxPool2d(2), new Flatten(),
                    new Linear(8 * 2 * 2, 16, rng: rng), new ReLU(), new Linear(16, 10, rng: rng));
        }
    }

    // One fixed batch (the model must fit it, so the losses fall) with a fixed label per sample.
    private static (float[] X, long[] Y) Batch16()
    {
        var data = new SeededRandom(7);
        var x = new float[Batch * 64];
        for (int i = 0; i < x.Length; i++) x[i] = (float)data.Normal();
        return (x, Enumerable.Range(0, Batch).Select(i => (long)(i % 10)).ToArray());
    }

    // The loss, and the size of what it sums: cross-entropy is logsumexp(z) − z_y, whose rounding error scales with the
    // logits, not with the (possibly tiny) difference.
    private static (double Loss, double Scale) LossAndGradients(Module model, IComputeBackend backend, float[] x, long[] y)
    {
        foreach (var p in model.Parameters()) p.ZeroGrad();
        var logits = model.Call(Tensor.FromArray(x, new Shape(Batch, 1, 8, 8), backend));
        var l = new CrossEntropyLoss().Compute(logits, Tensor.FromArray(y, new Shape(Batch), backend));
        l.Backward();
        var z = logits.ToFloatArray();
        double scale = Enumerable.Range(0, Batch).Average(b => z.Skip(b * 10).Take(10).Max(v => Math.Abs((double)v)));
        return (l.Item(), Math.Abs(l.Item()) + scale);
    }

    // The size of the terms a gradient sums: the mean over samples of each sample's own gradient norm. It bounds the
    // gradient's norm (triangle inequality) and, unlike it, does not shrink when samples' gradients cancel as the model
    // fits the batch, which rounding does not do.
    private static Dictionary<string, double> PerSampleGradientScale(Module model, IComputeBackend backend, float[] x, long[] y)
    {
        var scale = model.NamedParameters().ToDictionary(p => p.Name, _ => 0.0);
        for (int b = 0; b < Batch; b++)
        {
            using var scope = TensorScope.Begin();
            foreach (var p in model.Parameters()) p.ZeroGrad();
            var xb = Tensor.FromArray(x[(b * 64)..((b + 1) * 64)], new Shape(1, 1, 8, 8), backend);
            new CrossEntropyLoss().Compute(model.Call(xb), Tensor.FromArray(new[] { y[b] }, new Shape(1), backend)).Backward();
            foreach (var (name, p) in model.NamedParameters()) scale[name] += Norm(p.Grad!.ToFloatArray()) / Batch;
        }
        return scale;
    }

    [TestCase("mlp")]
    [TestCase("cnn")]
    public void Gradients_agree_at_the_same_parameters_at_every_step_of_an_Adam_run(string kind)
    {
        var torch = BackendRegistry.Get("torch");
        var graph = BackendRegistry.Get("graph");
        using var tm = Build(kind, torch);
        using var gm = Build(kind, graph);
        using var opt = new Adam(tm.Parameters(), 1e-2);
        var (x, y) = Batch16();
        double gamma = Gamma(PathReduction(kind)), worst = 0, firstLoss = 0, lastLoss = 0;
        Dictionary<string, double>? start = null;
        for (int s = 0; s < 40; s++)
        {
            using var scope = TensorScope.Begin();
            gm.LoadStateDict(tm.StateDict());
            // Softmax − one-hot keeps an absolute rounding error of order γ·1 as it tends to zero while the model fits,
            // so a gradient's scale never drops below the one it had at the start, when |softmax − one-hot| was of order 1.
            var now = PerSampleGradientScale(tm, torch, x, y);
            start ??= now;
            var scale = now.ToDictionary(kv => kv.Key, kv => Math.Max(kv.Value, start[kv.Key]));
            var (lt, lossScale) = LossAndGradients(tm, torch, x, y);
            var (lg, _) = LossAndGradients(gm, graph, x, y);
            Math.Abs(lg - lt).Should().BeLessThanOrEqualTo(2 * gamma * lossScale, $"loss at step {s}: {lg} vs {lt}");
            var graphGrads = gm.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Grad!.ToFloatArray());
            foreach (var (name, p) in tm.NamedParameters())
            {
                var gt = p.Grad!.ToFloatArray();
                var gg = graphGrads[name];
                double diff = Distance(gt, gg);
                worst = Math.Max(worst, diff / (gamma * scale[name]));
                diff.Should().BeLessThanOrEqualTo(2 * gamma * scale[name], $"gradient of {name} at step {s} (|g| = {Norm(gt):G4}, scale {scale[name]:G4})");
            }
            opt.Step();
            if (s == 0) firstLoss = lt;
            lastLoss = lt;
        }
        lastLoss.Should().BeLessThan(firstLoss * 0.5, "the model fits the batch, so the parameters moved through a real run");
        TestContext.Out.WriteLine($"{kind}: largest gradient difference {worst:F4} γ_K (bound 2)");
    }

    [TestCase("mlp")]
    [TestCase("cnn")]
    public void Sgd_trajectories_agree_for_a_hundred_steps(string kind)
    {
        const int steps = 100;
        var results = new Dictionary<string, (double[] Losses, Dictionary<string, float[]> Params)>();
        double[] lossScales = [];
        foreach (var name in new[] { "torch", "graph" })
        {
            var backend = BackendRegistry.Get(name);
            using var model = Build(kind, backend);
            using var opt = new Sgd(model.Parameters(), 0.1);
            var (x, y) = Batch16();
            var losses = new double[steps];
            var scales = new double[steps];
            for (int s = 0; s < steps; s++)
            {
                using var scope = TensorScope.Begin();
                (losses[s], scales[s]) = LossAndGradients(model, backend, x, y);
                opt.Step();
            }
            if (name == "torch") lossScales = scales;
            results[name] = (losses, model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToFloatArray()));
        }
        var (lt, pt) = results["torch"];
        var (lg, pg) = results["graph"];
        double gamma = Gamma(PathReduction(kind));
        // Each step adds a difference of at most ~2γ_K (relative) and SGD with a small rate carries earlier ones forward
        // about unchanged: the bound grows linearly with the step.
        double worst = 0;
        for (int s = 0; s < steps; s++) worst = Math.Max(worst, Math.Abs(lg[s] - lt[s]) / (gamma * (s + 1) * lossScales[s]));
        TestContext.Out.WriteLine($"{kind}: largest loss difference {worst:F4} (s+1)·γ_K·scale (bound 2)");
        for (int s = 0; s < steps; s++)
            Math.Abs(lg[s] - lt[s]).Should().BeLessThanOrEqualTo(2 * gamma * (s + 1) * lossScales[s], $"loss at step {s}: {lg[s]} vs {lt[s]}");
        lt[^1].Should().BeLessThan(lt[0] * 0.5, "the model fits the batch");
        foreach (var (name, values) in pt)
        {
            double diff = Distance(values, pg[name]), norm = Norm(values);
            diff.Should().BeLessThanOrEqualTo(2 * gamma * steps * norm, $"{name} after {steps} steps");
        }
    }
}
