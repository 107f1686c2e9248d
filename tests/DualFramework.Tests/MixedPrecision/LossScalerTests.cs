using DualFramework.Backends;
using DualFramework.Data;
using DualFramework.Losses;
using DualFramework.MixedPrecision;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.MixedPrecision;

/// <summary>Dynamic loss scaling: PyTorch's update rule, skipped steps (eager and inside a compiled graph step), exactness of
/// power-of-two scaling, and the checkpoint round trip.</summary>
[TestFixture]
public class LossScalerTests
{
    private static readonly string[] Backends = ["torch", "graph"];

    [TestCaseSource(nameof(Backends))]
    public void Update_reproduces_pytorchs_scale_vector(string backend)
    {
        // torch._amp_update_scale_ with scale 4, growth 2, backoff 0.25, interval 2: two clean steps give 8, an inf step 2.
        var b = BackendRegistry.Get(backend);
        using var scaler = new LossScaler(4, growthFactor: 2, backoffFactor: 0.25, growthInterval: 2, backend: b);
        using var scope = TensorScope.Begin();
        Tensor Flag(bool v) => Ops.Full(Shape.Scalar, v ? 1 : 0, DType.Bool, b);
        scaler.Update(Flag(false));
        (scaler.Scale, scaler.GrowthTracker).Should().Be((4.0, 1L));
        scaler.Update(Flag(false));
        (scaler.Scale, scaler.GrowthTracker).Should().Be((8.0, 0L));
        scaler.Update(Flag(true));
        (scaler.Scale, scaler.GrowthTracker, scaler.SkippedSteps).Should().Be((2.0, 0L, 1L));
    }

    [TestCaseSource(nameof(Backends))]
    public void Unscale_divides_gradients_and_flags_non_finite_ones(string backend)
    {
        var b = BackendRegistry.Get(backend);
        using var _ = BackendRegistry.Use(b);
        using var scaler = new LossScaler(8, backend: b);
        using var w = new Variable(Tensor.FromArray([1f, 2f, 3f], new Shape(3), b), trainable: true, "w");
        using var scope = TensorScope.Begin();
        scaler.ScaleLoss(Ops.Sum(Ops.Mul(w.Value, w.Value))).Backward(); // d/dw = 2w, times 8
        scaler.Unscale([w]).Item().Should().Be(0);
        w.Grad!.ToFloatArray().Should().Equal(2f, 4f, 6f);
        w.ZeroGrad();
        scaler.ScaleLoss(Ops.Sum(Ops.Mul(w.Value, float.PositiveInfinity))).Backward();
        scaler.Unscale([w]).Item().Should().Be(1, "an infinite loss has non-finite gradients");
    }

    private static Dataset<Batch> Data(bool poisonSecondBatch)
    {
        var rng = new SeededRandom(11);
        var x = new float[48 * 6];
        var y = new long[48];
        for (int i = 0; i < 48; i++)
        {
            y[i] = i % 3;
            for (int j = 0; j < 6; j++) x[i * 6 + j] = (float)((j == y[i] ? 1.0 : 0) + 0.5 * rng.Normal());
        }
        if (poisonSecondBatch) x[16 * 6 + 2] = float.PositiveInfinity; // sample 16 opens the second batch of 16
        return Dataset.FromArrays(x, [6], y).Batch(16);
    }

    private static (float[][] Params, long OptSteps, LossScaler Scaler, bool Compiled) Train(string backend, bool poison, double scale, bool withScaler = true)
    {
        var b = BackendRegistry.Get(backend);
        using var _ = BackendRegistry.Use(b);
        using var model = new Sequential(new Linear(6, 8, rng: new SeededRandom(4)), new ReLU(), new Linear(8, 3, rng: new SeededRandom(5)));
        using var opt = new Adam(model.Parameters(), 0.01);
        var scaler = new LossScaler(scale, backend: b);
        using var trainer = new Trainer(model);
        trainer.Compile(opt, new CrossEntropyLoss(), lossScaler: withScaler ? scaler : null);
        trainer.Fit(Data(poison), 2);
        var ps = model.Parameters().Select(p => p.Value.ToFloatArray()).ToArray();
        return (ps, opt.StepCount, scaler, trainer.CompiledTrainStep != null);
    }

    [TestCaseSource(nameof(Backends))]
    public void Power_of_two_scaling_trains_bit_identically_to_no_scaling(string backend)
    {
        // Multiplying and dividing by 2^10 is exact in float32 (no overflow here), so the scaled run must equal the plain one.
        var plain = Train(backend, poison: false, scale: 1024, withScaler: false);
        var scaled = Train(backend, poison: false, scale: 1024);
        using (plain.Scaler) using (scaled.Scaler)
        {
            for (int i = 0; i < plain.Params.Length; i++) scaled.Params[i].Should().Equal(plain.Params[i]);
            scaled.Scaler.SkippedSteps.Should().Be(0);
            scaled.OptSteps.Should().Be(6);
        }
    }

    [TestCaseSource(nameof(Backends))]
    public void A_step_with_non_finite_gradients_is_skipped_and_counted(string backend)
    {
        var clean = Train(backend, poison: false, scale: 1024, withScaler: false);
        var poisoned = Train(backend, poison: true, scale: 1024);
        using (clean.Scaler) using (poisoned.Scaler)
        {
            poisoned.Compiled.Should().Be(backend == "graph", "the graph backend runs the masked update inside its compiled step");
            poisoned.Scaler.SkippedSteps.Should().Be(2, "the poisoned batch comes once per epoch");
            poisoned.Scaler.Scale.Should().Be(256, "two backoffs of 0.5");
            poisoned.OptSteps.Should().Be(4, "skipped steps do not count (Adam's bias correction uses the count)");
            poisoned.Params.SelectMany(p => p).Should().OnlyContain(v => float.IsFinite(v));
            // The skipped batch contributes nothing: the run equals a clean run without that batch only if the optimizer state
            // and counters were left untouched; compare against a clean run on the same backend instead, which must differ.
            poisoned.Params.Zip(clean.Params).Any(p => !p.First.SequenceEqual(p.Second)).Should().BeTrue();
        }
    }

    [Test]
    public void Compiled_skip_matches_eager_skip()
    {
        // Same poisoned data: the graph backend's masked, compiled step and the torch backend's host-side skip must agree.
        var eager = Train("torch", poison: true, scale: 1024);
        var compiled = Train("graph", poison: true, scale: 1024);
        using (eager.Scaler) using (compiled.Scaler)
        {
            compiled.Compiled.Should().BeTrue();
            compiled.OptSteps.Should().Be(eager.OptSteps);
            compiled.Scaler.SkippedSteps.Should().Be(eager.Scaler.SkippedSteps);
            for (int i = 0; i < eager.Params.Length; i++)
                for (int k = 0; k < eager.Params[i].Length; k++)
                    compiled.Params[i][k].Should().BeApproximately(eager.Params[i][k], 1e-4f, "4 Adam steps of lr 0.01 from the same start; float32 rounding only");
        }
    }

    [TestCaseSource(nameof(Backends))]
    public void Checkpoint_round_trip_restores_the_scaler(string backend)
    {
        var b = BackendRegistry.Get(backend);
        using var _ = BackendRegistry.Use(b);
        var path = Path.Combine(Path.GetTempPath(), $"df-scaler-{backend}-{Guid.NewGuid():N}.safetensors");
        try
        {
            double scale;
            long skipped, tracker;
            using (var model = new Sequential(new Linear(6, 3, rng: new SeededRandom(4))))
            using (var opt = new Sgd(model.Parameters(), 0.1))
            using (var trainer = new Trainer(model))
            {
                trainer.Compile(opt, new CrossEntropyLoss(), precision: "mixed_float16");
                trainer.LossScaler.Should().NotBeNull("mixed_float16 scales the loss by default");
                trainer.Fit(Data(poisonSecondBatch: true), 1);
                (scale, skipped, tracker) = (trainer.LossScaler!.Scale, trainer.LossScaler.SkippedSteps, trainer.LossScaler.GrowthTracker);
                skipped.Should().Be(1);
                trainer.SaveCheckpoint(path, 1);
            }
            using var model2 = new Sequential(new Linear(6, 3, rng: new SeededRandom(9)));
            using var opt2 = new Sgd(model2.Parameters(), 0.1);
            using var trainer2 = new Trainer(model2);
            trainer2.Compile(opt2, new CrossEntropyLoss(), precision: "mixed_float16");
            trainer2.LossScaler!.Scale.Should().Be(65536);
            trainer2.Resume(path).Should().Be(1);
            (trainer2.LossScaler.Scale, trainer2.LossScaler.SkippedSteps, trainer2.LossScaler.GrowthTracker).Should().Be((scale, skipped, tracker));
            scale.Should().Be(32768, "one backoff from the default 2^16");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Bad_scaler_state_is_rejected_with_every_problem()
    {
        using var scaler = new LossScaler();
        using var scope = TensorScope.Begin();
        var act = () => scaler.LoadStateDict(new Dictionary<string, Tensor> { ["loss_scaler.scale"] = Tensor.Scalar(-1f) });
        act.Should().Throw<StateDictException>().Which.Problems.Should().HaveCount(3);
    }
}
