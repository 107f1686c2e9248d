using System.Diagnostics;
using DualFramework.Backends;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Training;

namespace DualFramework.Benchmarks;

/// <summary>
/// The "graph" suite: the same MLP/CNN Adam train step (batch 64) through the Trainer on the eager torch backend and
/// compiled on the graph backend (one ONNX Runtime session per step), plus the CNN's compile time. The Trainer's compiled
/// steps have a symbolic batch axis; a second graph CNN with <see cref="Trainer.SymbolicBatch"/> off (the graph specialised
/// to batch 64) measures what the symbolic dims cost at a steady size.
/// </summary>
public sealed class GraphWorkloads : IDisposable
{
    private const int Batch = 64;
    private readonly Setup _eagerMlp, _eagerCnn, _graphMlp, _graphCnn, _graphCnnFixed;

    private sealed class Setup : IDisposable
    {
        public required Module Model;
        public required Adam Optimizer;
        public required Trainer Trainer;
        public required Tensor X, Y;

        public void Dispose()
        {
            X.Dispose();
            Y.Dispose();
            Model.Dispose();
            Optimizer.Dispose();
        }
    }

    public GraphWorkloads()
    {
        var torch = BackendRegistry.Get("torch");
        var graph = BackendRegistry.Get("graph");
        _eagerMlp = Make("mlp", torch);
        _eagerCnn = Make("cnn", torch);
        _graphMlp = Make("mlp", graph);
        _graphCnn = Make("cnn", graph);
        _graphCnnFixed = Make("cnn", graph, symbolic: false);
    }

    /// <summary>Milliseconds spent compiling the CNN train step: both traces (before and after Adam's state exists), passes,
    /// ONNX lowering and session creation — the first two steps minus two steady-state steps.</summary>
    public double CnnCompileMs { get; private set; }

    /// <summary>The same for the CNN step specialised to batch 64 (<see cref="Trainer.SymbolicBatch"/> off).</summary>
    public double CnnFixedCompileMs { get; private set; }

    internal static Module Model(string kind, SeededRandom rng) => kind == "mlp"
        ? new Sequential(new Flatten(), new Linear(784, 256, rng: rng), new ReLU(), new Linear(256, 10, rng: rng))
        : new Sequential(new Conv2d(1, 32, 3, padding: 1, rng: rng), new ReLU(), new MaxPool2d(2),
            new Conv2d(32, 64, 3, padding: 1, rng: rng), new ReLU(), new MaxPool2d(2), new Flatten(),
            new Linear(64 * 7 * 7, 128, rng: rng), new ReLU(), new Linear(128, 10, rng: rng));

    private static Setup Make(string kind, IComputeBackend backend, bool symbolic = true)
    {
        using (BackendRegistry.Use(backend))
        {
            var model = Model(kind, new SeededRandom(0));
            var opt = new Adam(model.Parameters(), 1e-3);
            var trainer = new Trainer(model) { SymbolicBatch = symbolic };
            trainer.Compile(opt, new CrossEntropyLoss());
            var rng = new Random(0);
            var x = Tensor.FromArray(Enumerable.Range(0, Batch * 784).Select(_ => (float)rng.NextDouble()).ToArray(), new Shape(Batch, 1, 28, 28), backend).DetachFromScope();
            var y = Tensor.FromArray(Enumerable.Range(0, Batch).Select(i => (long)(i % 10)).ToArray(), new Shape(Batch), backend).DetachFromScope();
            return new Setup { Model = model, Optimizer = opt, Trainer = trainer, X = x, Y = y };
        }
    }

    /// <summary>Compiles the CNN train steps (timed) and warms every path up.</summary>
    public void Prepare()
    {
        _graphMlp.Trainer.TrainStep(_graphMlp.X, _graphMlp.Y);
        CnnCompileMs = CompileMs(_graphCnn);
        CnnFixedCompileMs = CompileMs(_graphCnnFixed);
    }

    // Compile time: the first two calls (the first traces and compiles; a second trace would count too, as it did before
    // Adam's first-step graph was reused) net of two steady-state runs measured afterwards.
    private double CompileMs(Setup cnn)
    {
        var sw = Stopwatch.StartNew();
        cnn.Trainer.TrainStep(cnn.X, cnn.Y);
        cnn.Trainer.TrainStep(cnn.X, cnn.Y);
        double firstTwo = sw.Elapsed.TotalMilliseconds;
        for (int i = 0; i < 3; i++)
        {
            _graphMlp.Trainer.TrainStep(_graphMlp.X, _graphMlp.Y);
            cnn.Trainer.TrainStep(cnn.X, cnn.Y);
        }
        var steady = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            sw.Restart();
            cnn.Trainer.TrainStep(cnn.X, cnn.Y);
            steady.Add(sw.Elapsed.TotalMilliseconds);
        }
        steady.Sort();
        return Math.Max(0, firstTwo - 2 * steady[2]);
    }

    public float EagerMlp() => (float)_eagerMlp.Trainer.TrainStep(_eagerMlp.X, _eagerMlp.Y);
    public float GraphMlp() => (float)_graphMlp.Trainer.TrainStep(_graphMlp.X, _graphMlp.Y);
    public float EagerCnn() => (float)_eagerCnn.Trainer.TrainStep(_eagerCnn.X, _eagerCnn.Y);
    public float GraphCnn() => (float)_graphCnn.Trainer.TrainStep(_graphCnn.X, _graphCnn.Y);
    public float GraphCnnFixed() => (float)_graphCnnFixed.Trainer.TrainStep(_graphCnnFixed.X, _graphCnnFixed.Y);

    /// <summary>Trace count of the compiled CNN train step (expected 1: Adam's first-step graph serves every step).</summary>
    public int CnnTraceCount => _graphCnn.Trainer.CompiledTrainStep?.TraceCount ?? 0;

    public void Dispose()
    {
        _eagerMlp.Dispose();
        _eagerCnn.Dispose();
        _graphMlp.Dispose();
        _graphCnn.Dispose();
        _graphCnnFixed.Dispose();
    }
}
