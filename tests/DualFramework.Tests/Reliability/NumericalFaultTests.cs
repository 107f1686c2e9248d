using DualFramework.Backends;
using DualFramework.Data;
using DualFramework.Diagnostics;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Reliability;

/// <summary>TerminateOnNaN and anomaly mode (docs/reliability.md, "Numerical faults"): a NaN or an infinity injected in
/// a known layer is reported with the op and layer path that produced it, eagerly and in compiled steps, on both backends.</summary>
[TestFixture]
[NonParallelizable] // anomaly mode is process-wide
[Category("Reliability")]
public class NumericalFaultTests
{
    // log(x): NaN for negative x, the fault of the first case.
    private sealed class LogLayer : Module
    {
        public override Tensor Forward(Tensor input) => Ops.Log(input);
    }

    // sqrt(0·x) + x: finite forward, but the gradient of sqrt at 0 is infinite (times 0: NaN) — a backward-only fault.
    private sealed class SqrtOfZero : Module
    {
        public override Tensor Forward(Tensor input) => Ops.Add(Ops.Sqrt(Ops.Mul(input, 0.0)), input);
    }

    private static Module Net(Module middle) =>
        new Sequential(new Linear(4, 8, rng: new SeededRandom(1)), middle, new Linear(8, 3, rng: new SeededRandom(2)));

    private static (Tensor X, Tensor Y) Batch()
    {
        var x = Enumerable.Range(0, 32).Select(i => (float)(1 + i % 5)).ToArray();
        return (Tensor.FromArray(x, new Shape(8, 4)), Tensor.FromArray(Enumerable.Range(0, 8).Select(i => (long)(i % 3)).ToArray(), new Shape(8)));
    }

    private static NumericalAnomalyException Step(string backend, bool compiled, Func<Module> create)
    {
        using var use = BackendRegistry.Use(BackendRegistry.Get(backend));
        using var scope = TensorScope.Begin();
        using (var model = create())
        using (var opt = new Adam(model.Parameters(), 1e-3))
        using (var trainer = new Trainer(model) { CompileSteps = compiled })
        using (AnomalyMode.Detect())
        {
            trainer.Compile(opt, new CrossEntropyLoss());
            var (x, y) = Batch();
            var act = () => trainer.TrainStep(x, y);
            return act.Should().Throw<NumericalAnomalyException>().Which;
        }
    }

    [TestCase("torch", false)]
    [TestCase("torch", true)]
    [TestCase("graph", false)]
    [TestCase("graph", true)]
    public void The_log_of_a_negative_value_is_reported_with_its_op_and_layer(string backend, bool compiled)
    {
        // Linear(4, 8) of these inputs has negative outputs (weights of both signs): log gives NaN there.
        var e = Step(backend, compiled, () => Net(new LogLayer()));
        e.OpName.Should().Be("log");
        e.LayerPath.Should().Be("Sequential.1");
        e.Stage.Should().Be(compiled ? "compiled graph" : "eager op");
    }

    [TestCase("torch", false)]
    [TestCase("torch", true)]
    [TestCase("graph", false)]
    [TestCase("graph", true)]
    public void A_weight_set_to_infinity_is_reported_at_the_first_op_that_reads_it(string backend, bool compiled)
    {
        var e = Step(backend, compiled, () =>
        {
            var model = Net(new ReLU());
            var w = model.StateDict()["2.weight"];
            var values = w.ToFloatArray();
            values[0] = float.PositiveInfinity;
            model.LoadStateDict(new Dictionary<string, Tensor> { ["2.weight"] = Tensor.FromArray(values, w.Shape, w.Backend) }, strict: false);
            return model;
        });
        e.LayerPath.Should().Be("Sequential.2");
        e.OpName.Should().BeOneOf("linear", "matmul");
    }

    [Test]
    public void A_backward_only_fault_on_the_torch_backend_names_the_parameter_whose_gradient_is_not_finite()
    {
        var e = Step("torch", compiled: false, () => Net(new SqrtOfZero()));
        e.Stage.Should().Be("gradient");
        e.OpName.Should().Be("backward");
        e.LayerPath.Should().Be("0.weight", "the first parameter in order whose gradient went through sqrt at 0");
    }

    [Test]
    public void Without_anomaly_mode_the_compiled_step_has_no_checks_and_the_mode_adds_one_output()
    {
        using var use = BackendRegistry.Use(BackendRegistry.Get("graph"));
        using var scope = TensorScope.Begin();
        using var model = Net(new ReLU());
        using var opt = new Adam(model.Parameters(), 1e-3);
        using var trainer = new Trainer(model);
        trainer.Compile(opt, new CrossEntropyLoss());
        var (x, y) = Batch();
        AnomalyMode.IsEnabled.Should().BeFalse("the mode is opt-in");
        trainer.TrainStep(x, y);
        int plain = trainer.CompiledTrainStep!.LastGraph!.Outputs.Count;
        using (AnomalyMode.Detect()) trainer.TrainStep(x, y);
        trainer.CompiledTrainStep.TraceCount.Should().Be(2, "turning the mode on retraces a debug build");
        trainer.CompiledTrainStep.LastGraph!.Outputs.Count.Should().Be(plain + 1, "the flags of every node travel in one extra output");
        trainer.TrainStep(x, y);
        trainer.CompiledTrainStep.TraceCount.Should().Be(2, "the plain build is cached");
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void TerminateOnNaN_stops_training_right_after_the_first_non_finite_loss(string backend)
    {
        using var use = BackendRegistry.Use(BackendRegistry.Get(backend));
        // 10 batches of 8 per epoch; example 53 (batch 6, i.e. global step 7) holds a NaN feature.
        var x = Enumerable.Range(0, 80 * 4).Select(i => (float)(i % 7) / 7).ToArray();
        x[53 * 4 + 2] = float.NaN;
        var data = Dataset.FromArrays(x, [4], Enumerable.Range(0, 80).Select(i => (long)(i % 3)).ToArray()).Batch(8);
        using var model = Net(new ReLU());
        using var opt = new Adam(model.Parameters(), 1e-3);
        using var trainer = new Trainer(model);
        trainer.Compile(opt, new CrossEntropyLoss());
        var stop = new TerminateOnNaN { Output = null };
        var history = trainer.Fit(data, 3, callbacks: [stop]);
        stop.StoppedStep.Should().Be(7);
        double.IsNaN(stop.Loss).Should().BeTrue();
        trainer.GlobalStep.Should().Be(7, "no batch is trained after the NaN");
        history.Epochs.Should().HaveCount(1, "the epoch ends there and no other starts");
    }
}
