using System.Diagnostics;
using DualFramework.Backends;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.OnnxRuntime;
using DualFramework.Operators;
using DualFramework.Optim;
using DualFramework.Training;

namespace DualFramework.Benchmarks;

/// <summary>
/// The "recurrent" suite: one Adam step (lr 0.003, cross-entropy) of the TextLstm sample's model and batch (embedding 32 →
/// LSTM(32, 128, batch first) → last step → linear, vocabulary 86, batch 64 windows of 32 characters) through the Trainer
/// on the eager torch backend and compiled on the graph backend: by default (<see cref="RecurrentLowering.Auto"/>), with
/// the recurrence as ONNX Runtime's fused LSTM node (the loop inside its kernel) and unrolled in the graph.
/// </summary>
public sealed class RecurrentWorkloads : IDisposable
{
    public const int Batch = 64, Steps = 32, Vocabulary = 86, EmbeddingSize = 32, Hidden = 128;
    public const double LearningRate = 3e-3;

    private readonly GraphBackend _fusedBackend = new() { RecurrentLowering = RecurrentLowering.Fused };
    private readonly GraphBackend _unrolledBackend = new() { RecurrentLowering = RecurrentLowering.Unrolled };
    private readonly Setup _eager, _graph, _fused, _unrolled;

    private sealed class Setup : IDisposable
    {
        public required Module Model;
        public required Adam Optimizer;
        public required Trainer Trainer;
        public required Tensor X, Y;

        public float Step() => (float)Trainer.TrainStep(X, Y);

        public void Dispose()
        {
            X.Dispose();
            Y.Dispose();
            Model.Dispose();
            Optimizer.Dispose();
        }
    }

    /// <summary>The sample's <c>CharModel</c> (the sample is an executable of its own, so the model is rebuilt here).</summary>
    private sealed class CharLstm : Module
    {
        private readonly Embedding _embed;
        private readonly LSTM _lstm;
        private readonly Linear _head;

        public CharLstm(SeededRandom rng)
        {
            _embed = RegisterModule("embed", new Embedding(Vocabulary, EmbeddingSize, rng));
            _lstm = RegisterModule("lstm", new LSTM(EmbeddingSize, Hidden, batchFirst: true, rng: rng));
            _head = RegisterModule("head", new Linear(Hidden, Vocabulary, rng: rng));
        }

        public override Tensor Forward(Tensor input)
        {
            var states = _lstm.Forward(_embed.Forward(Ops.Cast(input, DType.Int64)));
            return _head.Forward(Ops.Squeeze(Ops.Slice(states, 1, Steps - 1, Steps), 1));
        }
    }

    public RecurrentWorkloads()
    {
        _eager = Make(BackendRegistry.Get("torch"));
        _graph = Make(BackendRegistry.Get("graph"));
        _fused = Make(_fusedBackend);
        _unrolled = Make(_unrolledBackend);
    }

    /// <summary>Ids of the batch's windows (floats holding whole numbers, as the sample's pipeline delivers them).</summary>
    public static float[] Windows() => Ids(Batch * Steps, 0).Select(i => (float)i).ToArray();

    /// <summary>The character after each window.</summary>
    public static long[] Targets() => Ids(Batch, 1);

    private static long[] Ids(int count, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (long)rng.Next(Vocabulary)).ToArray();
    }

    private static Setup Make(IComputeBackend backend)
    {
        using (BackendRegistry.Use(backend))
        {
            var model = new CharLstm(new SeededRandom(0));
            var opt = new Adam(model.Parameters(), LearningRate);
            var trainer = new Trainer(model);
            trainer.Compile(opt, new CrossEntropyLoss());
            var x = Tensor.FromArray(Windows(), new Shape(Batch, Steps), backend).DetachFromScope();
            var y = Tensor.FromArray(Targets(), new Shape(Batch), backend).DetachFromScope();
            return new Setup { Model = model, Optimizer = opt, Trainer = trainer, X = x, Y = y };
        }
    }

    /// <summary>Milliseconds spent compiling the default graph step (trace, passes, ONNX lowering, session): the first two
    /// steps minus two steady-state steps.</summary>
    public double CompileMs { get; private set; }

    /// <summary>The same for the step compiled with the fused LSTM node and with the unrolled cell.</summary>
    public double CompileFusedMs { get; private set; }

    /// <summary>The same for the step compiled with the unrolled cell.</summary>
    public double CompileUnrolledMs { get; private set; }

    /// <summary>The form the default (<see cref="RecurrentLowering.Auto"/>) compiled step runs: "unrolled" or "fused".</summary>
    public string DefaultForm { get; private set; } = "";

    /// <summary>Compiles every graph step (timed) and warms them up.</summary>
    public void Prepare()
    {
        CompileMs = CompileTime(_graph);
        CompileFusedMs = CompileTime(_fused);
        CompileUnrolledMs = CompileTime(_unrolled);
        var compiled = (_graph.Trainer.CompiledTrainStep?.LastExecutable as OrtExecutable)?.Graph;
        DefaultForm = compiled == null ? "?" : compiled.Nodes.Any(n => n.Op is RecurrentOp) ? "fused" : "unrolled";
    }

    // The first two steps (the first traces and compiles) net of two steady-state steps (the median of five after three more).
    private static double CompileTime(Setup s)
    {
        var sw = Stopwatch.StartNew();
        s.Step();
        s.Step();
        double firstTwo = sw.Elapsed.TotalMilliseconds;
        for (int i = 0; i < 3; i++) s.Step();
        var steady = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            sw.Restart();
            s.Step();
            steady.Add(sw.Elapsed.TotalMilliseconds);
        }
        steady.Sort();
        return Math.Max(0, firstTwo - 2 * steady[2]);
    }

    public float Eager() => _eager.Step();

    public float Graph() => _graph.Step();

    public float GraphFused() => _fused.Step();

    public float GraphUnrolled() => _unrolled.Step();

    public void Dispose()
    {
        _eager.Dispose();
        _graph.Dispose();
        _fused.Dispose();
        _unrolled.Dispose();
        _fusedBackend.Dispose();
        _unrolledBackend.Dispose();
    }
}
