using DualFramework.Backends;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Quantization;
using DualFramework.Tests.Support;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Quantization;

/// <summary>Pruning masks during training: kept through Adam and SGD-momentum updates eagerly (torch) and inside compiled
/// steps (graph), changed masks reaching a compiled step, and the <see cref="PolynomialDecay"/> schedule.</summary>
[TestFixture]
public class PruningTrainingTests
{
    private static Sequential Model(long seed)
    {
        var rng = new SeededRandom(seed);
        return new Sequential(new Linear(8, 16, rng: rng), new ReLU(), new Linear(16, 4, rng: rng));
    }

    private static Optimizer MakeOptimizer(string kind, Module model) => kind switch
    {
        "adam" => new Adam(model.Parameters(), 0.05),
        _ => new Sgd(model.Parameters(), 0.1, momentum: 0.9),
    };

    private static Linear Layer(Module model, int index) => (Linear)model.NamedChildren().ElementAt(index).Module;

    // Zero positions must hold +0 exactly.
    private static int[] PrunedIndices(Module layer) => Pruning.Mask(layer).ToFloatArray().Select((m, i) => (m, i)).Where(p => p.m == 0).Select(p => p.i).ToArray();

    [TestCase("torch", "adam")]
    [TestCase("torch", "sgd")]
    [TestCase("graph", "adam")]
    [TestCase("graph", "sgd")]
    public void Pruned_entries_stay_exactly_zero_through_optimizer_steps(string backend, string optimizer)
    {
        using (BackendRegistry.Use(BackendRegistry.Get(backend)))
        {
            using var model = Model(1);
            Pruning.GlobalUnstructured(Pruning.Weights(model), 0.6);
            var before = Layer(model, 0).Weight.Value.ToFloatArray();
            using var opt = MakeOptimizer(optimizer, model);
            using var trainer = new Trainer(model);
            trainer.Compile(opt, new CrossEntropyLoss());
            trainer.Fit(ClusterData.Batches(1), 2); // 12 steps
            (trainer.CompiledTrainStep != null).Should().Be(backend == "graph");
            foreach (int l in new[] { 0, 2 })
            {
                var w = Layer(model, l).Weight.Value.ToFloatArray();
                var pruned = PrunedIndices(Layer(model, l));
                pruned.Should().NotBeEmpty();
                pruned.Should().AllSatisfy(i => BitConverter.SingleToInt32Bits(w[i]).Should().Be(0, $"layer {l} entry {i} is pruned"));
                // What the constraint undoes: the optimizer's state for pruned entries is not zero, so an update would revive them.
                using var state = opt.StateDict();
                var buffer = state[$"{l}.weight.{(optimizer == "adam" ? "exp_avg" : "momentum_buffer")}"].ToFloatArray();
                pruned.Count(i => buffer[i] != 0).Should().BeGreaterThan(pruned.Length / 2);
            }
            var after = Layer(model, 0).Weight.Value.ToFloatArray();
            after.Where((v, i) => v != before[i]).Count().Should().BeGreaterThan(0, "kept entries trained");
        }
    }

    [Test]
    public void A_new_mask_reaches_the_compiled_step_without_retracing()
    {
        using (BackendRegistry.Use(BackendRegistry.Get("graph")))
        {
            using var model = Model(2);
            var layer = Layer(model, 0);
            Pruning.L1Unstructured(layer, 0.25);
            using var opt = new Adam(model.Parameters(), 0.05);
            using var trainer = new Trainer(model);
            trainer.Compile(opt, new CrossEntropyLoss());
            trainer.Fit(ClusterData.Batches(1), 1);
            int traces = trainer.CompiledTrainStep!.TraceCount;
            trainer.CompiledTrainStep.State.Should().Contain(model.NamedVariables()["0.weight_mask"]);
            Pruning.L1Unstructured(layer, 0.75); // a new mask: the newly pruned entries have Adam moments that would revive them
            var pruned = PrunedIndices(layer);
            pruned.Length.Should().Be(96);
            trainer.Fit(ClusterData.Batches(1), 1);
            trainer.CompiledTrainStep.TraceCount.Should().Be(traces, "the mask is a graph input, not a constant");
            var w = layer.Weight.Value.ToFloatArray();
            pruned.Should().AllSatisfy(i => BitConverter.SingleToInt32Bits(w[i]).Should().Be(0));
            w.Count(v => v != 0).Should().Be(32);
        }
    }

    [Test]
    public void Pruning_after_the_step_was_compiled_is_reported_by_the_schedule()
    {
        using (BackendRegistry.Use(BackendRegistry.Get("graph")))
        {
            using var model = Model(3);
            using var opt = new Adam(model.Parameters(), 0.01);
            using var trainer = new Trainer(model);
            trainer.Compile(opt, new CrossEntropyLoss());
            trainer.Fit(ClusterData.Batches(1), 1);
            var schedule = new PolynomialDecay(Pruning.Weights(model), 0, 0.5, 0, 6, frequency: 2);
            FluentActions.Invoking(() => trainer.Fit(ClusterData.Batches(1), 1, callbacks: [schedule])).Should().Throw<QuantizationException>()
                .WithMessage("*compiled before Linear '0'.weight was pruned*Trainer.Compile again*new optimizer*");
            // Compiling again takes the masks into the step's state (with a new optimizer: a compiled step does not take in
            // optimizer state created by an earlier one).
            using var opt2 = new Adam(model.Parameters(), 0.01);
            trainer.Compile(opt2, new CrossEntropyLoss());
            trainer.Fit(ClusterData.Batches(1), 1, callbacks: [schedule]);
            trainer.CompiledTrainStep!.State.Should().Contain(model.NamedVariables()["2.weight_mask"]);
        }
    }

    [Test]
    public void Schedule_values_follow_the_polynomial_decay_formula()
    {
        using var layer = new Linear(4, 2);
        var s = new PolynomialDecay([(layer, "weight")], 0.1, 0.8, beginStep: 10, endStep: 110, power: 3, frequency: 30);
        // final + (initial − final)·(1 − p)³, p = (t − 10)/100, computed by hand.
        s.SparsityAt(0).Should().BeApproximately(0.1, 1e-15);
        s.SparsityAt(10).Should().BeApproximately(0.1, 1e-15);
        s.SparsityAt(60).Should().BeApproximately(0.8 - 0.7 * 0.125, 1e-15);
        s.SparsityAt(35).Should().BeApproximately(0.8 - 0.7 * 0.421875, 1e-15);
        s.SparsityAt(110).Should().BeApproximately(0.8, 1e-15);
        s.SparsityAt(500).Should().BeApproximately(0.8, 1e-15);
        var updates = Enumerable.Range(0, 200).Where(t => s.UpdatesAt(t)).ToArray();
        updates.Should().Equal(10, 40, 70, 100, 110);
        new PolynomialDecay([(layer, "weight")], 0, 0.5, 0, 10, power: 1).SparsityAt(4).Should().BeApproximately(0.2, 1e-15);
    }

    // Records the mask's zero count after every batch (runs after the schedule, which is listed first).
    private sealed class MaskRecorder(Module layer) : Callback
    {
        public readonly Dictionary<long, int> ZerosAfterStep = [];
        public override void OnBatchEnd(Trainer trainer, long step, IReadOnlyDictionary<string, double> logs) =>
            ZerosAfterStep[step] = Pruning.Mask(layer).ToFloatArray().Count(m => m == 0);
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void Fit_with_the_schedule_prunes_gradually_to_the_final_sparsity(string backend)
    {
        using (BackendRegistry.Use(BackendRegistry.Get(backend)))
        {
            using var model = Model(4);
            var first = Layer(model, 0);
            using var opt = new Adam(model.Parameters(), 0.02);
            using var trainer = new Trainer(model);
            trainer.Compile(opt, new CrossEntropyLoss(), [new Accuracy()]);
            var schedule = new PolynomialDecay(Pruning.Weights(model), 0.2, 0.9, beginStep: 2, endStep: 13, power: 3, frequency: 4);
            var recorder = new MaskRecorder(first);
            trainer.Fit(ClusterData.Batches(1), 3, callbacks: [schedule, recorder]); // 18 steps
            // Masks change before the batches of steps 2, 6, 10 and 13 (the end); the count after batch t is that of the
            // last update at or before t (the next batch's index is t), with round-half-even of s(t)·128.
            schedule.Updates.Should().Be(4);
            static double S(long t) => 0.9 + (0.2 - 0.9) * Math.Pow(1 - Math.Clamp((t - 2) / 11.0, 0, 1), 3);
            foreach (var (step, zeros) in recorder.ZerosAfterStep)
            {
                long last = new long[] { 2, 6, 10, 13 }.Where(u => u <= step).DefaultIfEmpty(-1).Max();
                int expected = last < 0 ? 0 : (int)Math.Round(S(last) * 128, MidpointRounding.ToEven);
                zeros.Should().Be(expected, $"after step {step}");
            }
            var report = Pruning.Report(model);
            report["0.weight"].Zeros.Should().Be((long)Math.Round(0.9 * 128, MidpointRounding.ToEven));
            report["2.weight"].Zeros.Should().Be((long)Math.Round(0.9 * 64, MidpointRounding.ToEven));
            (trainer.CompiledTrainStep != null).Should().Be(backend == "graph");
        }
    }

    [Test]
    public void A_global_schedule_reaches_the_sparsity_over_all_targets_with_one_threshold()
    {
        using var model = Model(5);
        using var opt = new Adam(model.Parameters(), 0.02);
        using var trainer = new Trainer(model);
        trainer.Compile(opt, new CrossEntropyLoss());
        // Layer 2's weights are scaled down: one threshold takes more of them than of layer 0's.
        var small = Layer(model, 2).Weight;
        using (TensorScope.Begin()) small.Assign(Ops.Mul(small.Value, 0.1));
        var schedule = new PolynomialDecay(Pruning.Weights(model), 0, 0.5, beginStep: 0, endStep: 4, frequency: 2, global: true);
        trainer.Fit(ClusterData.Batches(1), 1, callbacks: [schedule]);
        var report = Pruning.Report(model);
        (report["0.weight"].Zeros + report["2.weight"].Zeros).Should().Be(96, "half of 128 + 64");
        report["2.weight"].Sparsity.Should().BeGreaterThan(0.5);
        report["0.weight"].Sparsity.Should().BeLessThan(0.5);
        schedule.Updates.Should().Be(3); // steps 0, 2, 4
    }
}
