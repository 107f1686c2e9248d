using DualFramework.Backends;
using DualFramework.Data;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Samples.FashionMnist;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Training;

/// <summary>The Trainer's compiled steps with a symbolic batch axis: an epoch whose last batch is partial, and evaluation
/// in batches of another size, each trace once on the graph backend, and the losses follow eager libtorch step by step.</summary>
[TestFixture]
public class SymbolicBatchTrainerTests
{
    // 100 examples in batches of 32: 32, 32, 32 and a partial 4.
    private static Dataset<Example> Data(int seed)
    {
        var rng = new Random(seed);
        var x = new float[100 * 28 * 28];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        var y = Enumerable.Range(0, 100).Select(_ => (long)rng.Next(10)).ToArray();
        return Dataset.FromArrays(x, [1, 28, 28], y);
    }

    private static (double[] Losses, double EvalLoss, Trainer Trainer) Train(string backend, bool symbolic)
    {
        using var use = BackendRegistry.Use(BackendRegistry.Get(backend));
        var model = Models.Cnn(new SeededRandom(5));
        var optimizer = new Adam(model.Parameters(), 1e-3);
        var trainer = new Trainer(model) { SymbolicBatch = symbolic };
        trainer.Compile(optimizer, new CrossEntropyLoss());
        var recorder = new Recorder();
        trainer.Fit(Data(1).Batch(32), 1, callbacks: [recorder]);
        var eval = trainer.Evaluate(Data(2).Batch(48)); // 48, 48, 4
        return (recorder.Losses.ToArray(), eval["loss"], trainer);
    }

    [Test]
    public void A_partial_last_batch_reuses_the_one_trace_and_matches_eager()
    {
        var (eager, eagerEval, _) = Train("torch", symbolic: true);
        var (graph, graphEval, trainer) = Train("graph", symbolic: true);
        trainer.CompiledTrainStep!.TraceCount.Should().Be(1, "train batches of 32 and 4 share one symbolic trace");
        trainer.CompiledEvalStep!.TraceCount.Should().Be(1, "eval batches of 48 and 4 share one symbolic trace");
        trainer.CompiledTrainStep.LastGraph!.IsSymbolic.Should().BeTrue();
        graph.Should().HaveCount(4);
        // The running mean of the per-batch losses; the partial batch's mean over 4 examples (its 1/4 comes from the
        // batch's size at run time, not from the trace) must agree with eager libtorch as the full ones do. Float32
        // kernels of ONNX Runtime and libtorch round differently; 4 Adam steps stay far below 1e-3.
        for (int k = 0; k < 4; k++) graph[k].Should().BeApproximately(eager[k], 1e-3, $"step {k + 1}");
        graphEval.Should().BeApproximately(eagerEval, 1e-3);
    }

    [Test]
    public void Without_a_symbolic_batch_each_batch_size_traces_again()
    {
        var (_, _, trainer) = Train("graph", symbolic: false);
        trainer.CompiledTrainStep!.TraceCount.Should().Be(2);
        trainer.CompiledEvalStep!.TraceCount.Should().Be(2);
    }

    private sealed class Recorder : Callback
    {
        public List<double> Losses { get; } = [];

        public override void OnBatchEnd(Trainer trainer, long step, IReadOnlyDictionary<string, double> logs) => Losses.Add(logs["loss"]);
    }
}
