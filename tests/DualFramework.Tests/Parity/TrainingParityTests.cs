using DualFramework.Backends;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Parity;

/// <summary>MLP and CNN trained for 100 Adam steps on both backends from identical initial weights and identical batches.</summary>
[TestFixture]
[Category("Parity")]
public class TrainingParityTests
{
    private static Module Build(string kind, IBackend backend)
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

    private static (double[] Losses, Dictionary<string, float[]> Params) Train(string kind, IBackend backend, int steps)
    {
        using var model = Build(kind, backend);
        using var opt = new Adam(model.Parameters(), 1e-2);
        var loss = new CrossEntropyLoss();
        // One fixed batch (the model must fit it, so the losses fall) with a fixed label per sample.
        var data = new SeededRandom(7);
        var x = new float[16 * 64];
        for (int i = 0; i < x.Length; i++) x[i] = (float)data.Normal();
        var y = Enumerable.Range(0, 16).Select(i => (long)(i % 10)).ToArray();
        var losses = new double[steps];
        for (int s = 0; s < steps; s++)
        {
            using var scope = TensorScope.Begin();
            var xt = Tensor.FromArray(x, new Shape(16, 1, 8, 8), backend);
            var yt = Tensor.FromArray(y, new Shape(16), backend);
            opt.ZeroGrad();
            var l = loss.Compute(model.Call(xt), yt);
            l.Backward();
            opt.Step();
            losses[s] = l.Item();
        }
        return (losses, model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToFloatArray()));
    }

    [TestCase("mlp")]
    [TestCase("cnn")]
    public void Hundred_steps_agree_step_by_step(string kind)
    {
        var (lt, pt) = Train(kind, BackendRegistry.Get("torch"), 100);
        var (lg, pg) = Train(kind, BackendRegistry.Get("graph"), 100);
        for (int s = 0; s < lt.Length; s++)
            Math.Abs(lg[s] - lt[s]).Should().BeLessThanOrEqualTo(1e-4 * Math.Abs(lt[s]) + 1e-6, $"loss at step {s}: {lg[s]} vs {lt[s]}");
        lt[^1].Should().BeLessThan(lt[0] * 0.5, "the model fits the batch");
        pg.Keys.Should().BeEquivalentTo(pt.Keys);
        foreach (var (name, values) in pt)
            for (int i = 0; i < values.Length; i++)
                ((double)Math.Abs(pg[name][i] - values[i])).Should().BeLessThanOrEqualTo(1e-4 * Math.Max(1.0, Math.Abs(values[i])), $"{name}[{i}]");
    }
}
