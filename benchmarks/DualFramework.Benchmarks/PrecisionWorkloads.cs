using DualFramework.Backends;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Training;

namespace DualFramework.Benchmarks;

/// <summary>The `--ratio precision` suite's steps: the CNN train step (batch 64, Adam) under float32 and under the mixed
/// policies, on the torch backend (eager) and the graph backend (compiled), each with its own model built from seed 0.</summary>
public sealed class PrecisionWorkloads : IDisposable
{
    private const int Batch = 64;
    private readonly List<Setup> _setups = [];

    private sealed class Setup(Module model, Adam optimizer, Trainer trainer, Tensor x, Tensor y) : IDisposable
    {
        public float Step() => (float)trainer.TrainStep(x, y);

        public void Dispose()
        {
            trainer.Dispose();
            x.Dispose();
            y.Dispose();
            model.Dispose();
            optimizer.Dispose();
        }
    }

    /// <summary>A train step of the CNN on <paramref name="backend"/> under the policy <paramref name="precision"/>.</summary>
    public Func<float> Step(string backend, string precision)
    {
        var b = BackendRegistry.Get(backend);
        using (BackendRegistry.Use(b))
        {
            var model = GraphWorkloads.Model("cnn", new SeededRandom(0));
            var opt = new Adam(model.Parameters(), 1e-3);
            var trainer = new Trainer(model);
            trainer.Compile(opt, new CrossEntropyLoss(), precision: precision);
            var rng = new Random(0);
            var x = Tensor.FromArray(Enumerable.Range(0, Batch * 784).Select(_ => (float)rng.NextDouble()).ToArray(), new Shape(Batch, 1, 28, 28), b).DetachFromScope();
            var y = Tensor.FromArray(Enumerable.Range(0, Batch).Select(i => (long)(i % 10)).ToArray(), new Shape(Batch), b).DetachFromScope();
            var s = new Setup(model, opt, trainer, x, y);
            _setups.Add(s);
            return s.Step;
        }
    }

    public void Dispose()
    {
        foreach (var s in _setups) s.Dispose();
        _setups.Clear();
    }
}
