using DualFramework.Backends;
using DualFramework.Data;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Tests.Support;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Parity;

/// <summary>The Trainer compiles its steps on the graph backend (one ONNX Runtime session per step) and must train like the
/// eager torch backend from the same initial weights and batches, to within the fp32 error model of docs/parity.md. SGD
/// with momentum, not Adam: Adam turns rounding-level gradients into full steps of backend-dependent sign.</summary>
[TestFixture]
[Category("Parity")]
public class CompiledTrainerParityTests
{
    private static Dataset<Batch> Data(long seed) => ClusterData.Batches(seed);

    // Longest path of reductions: forward fan-ins 8 and 16, BatchNorm's batch statistics (16, twice), the 4-way softmax;
    // backward fan-outs 4 and 16, BatchNorm's backward sums (16, twice); weight gradients over the batch of 16.
    private const int K = (8 + 32 + 16 + 4) + (4 + 16 + 32) + 16;
    private static readonly double Gamma = Fp32ErrorModel.Gamma(K);
    private const int StepsPerEpoch = 6;

    private static (History History, Trainer Trainer, Module Model, Sgd Opt) Fit(IComputeBackend backend)
    {
        using (BackendRegistry.Use(backend))
        {
            var rng = new SeededRandom(5);
            // No bias before BatchNorm (it cancels the bias, whose gradient is then pure rounding noise that Adam amplifies
            // into backend-dependent steps).
            var model = new Sequential(new Linear(8, 16, bias: false, rng: rng), new BatchNorm1d(16), new ReLU(), new Linear(16, 4, rng: rng));
            var opt = new Sgd(model.Parameters(), 0.05, momentum: 0.9);
            var trainer = new Trainer(model);
            trainer.Compile(opt, new CrossEntropyLoss(), [new Accuracy()]);
            var history = trainer.Fit(Data(1), 3, validation: Data(2));
            return (history, trainer, model, opt);
        }
    }

    [Test]
    public void Compiled_graph_training_matches_eager_torch_training()
    {
        var (ht, tt, mt, ot) = Fit(BackendRegistry.Get("torch"));
        var (hg, tg, mg, og) = Fit(BackendRegistry.Get("graph"));
        using (mt) using (ot) using (mg) using (og)
        {
            tt.CompiledTrainStep.Should().BeNull("the eager backend runs steps eagerly");
            tg.CompiledTrainStep.Should().NotBeNull("the graph backend compiles its train step");
            tg.CompiledTrainStep!.TraceCount.Should().Be(2, "one trace before and one after the momentum buffers exist; then cache hits");
            // Cross-entropy's rounding scales with the logits (logsumexp(z) − z_y): the largest |logit| of the trained model.
            double logits;
            using (TensorScope.Begin())
            using (BackendRegistry.Use(BackendRegistry.Get("torch")))
            {
                mt.Eval();
                logits = Data(1).SelectMany(b => mt.Call(Tensor.FromArray(b.Features, b.FeatureShape)).ToFloatArray()).Max(v => Math.Abs((double)v));
            }
            foreach (var key in new[] { "loss", "val_loss" })
                for (int e = 0; e < 3; e++)
                {
                    // Each step may add 2·γ_K·scale and SGD carries it forward about unchanged: epoch e has run (e+1)·6 steps.
                    double bound = 2 * Gamma * (e + 1) * StepsPerEpoch * (Math.Abs(ht[key][e]) + logits);
                    Math.Abs(hg[key][e] - ht[key][e]).Should().BeLessThanOrEqualTo(bound, $"{key} at epoch {e}: {hg[key][e]} vs {ht[key][e]}");
                }
            hg["accuracy"].Should().Equal(ht["accuracy"]);
            var pt = mt.StateDict();
            foreach (var (name, value) in mg.StateDict())
            {
                if (value.DType != DType.Float32) { value.ToDoubleArray().Should().Equal(pt[name].ToDoubleArray(), name); continue; }
                var a = value.ToFloatArray();
                var b = pt[name].ToFloatArray();
                double diff = Fp32ErrorModel.Distance(a, b), norm = Fp32ErrorModel.Norm(b);
                diff.Should().BeLessThanOrEqualTo(2 * Gamma * 3 * StepsPerEpoch * norm, $"{name} after {3 * StepsPerEpoch} steps");
            }
        }
    }

    [Test]
    public void Compiled_steps_keep_state_in_two_alternating_backend_buffers()
    {
        var graph = BackendRegistry.Get("graph");
        using (BackendRegistry.Use(graph))
        {
            var rng = new SeededRandom(3);
            using var model = new Sequential(new Linear(8, 4, rng: rng));
            using var opt = new Adam(model.Parameters(), 0.01);
            var trainer = new Trainer(model);
            trainer.Compile(opt, new CrossEntropyLoss());
            using var scope = TensorScope.Begin();
            var x = Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (float)i / 16).ToArray(), new Shape(2, 8));
            var y = Tensor.FromArray(new long[] { 1, 3 });
            var weight = model.Parameters().First();
            var tensors = new List<Tensor>();
            var handles = new List<object>();
            for (int step = 0; step < 6; step++)
            {
                trainer.TrainStep(x, y);
                tensors.Add(weight.Value);
                handles.Add(weight.Value.Handle);
            }
            trainer.CompiledTrainStep!.TraceCount.Should().Be(1, "Adam's first step does not branch on its moments' absence, so its graph serves the later steps");
            // From the third step on the same tensor object holds the value and
            // its backend buffer alternates between two buffers: the state never leaves ONNX Runtime's memory.
            tensors.Skip(2).Should().AllSatisfy(t => t.Should().BeSameAs(tensors[2]));
            handles[2].Should().NotBeSameAs(handles[3]);
            handles[4].Should().BeSameAs(handles[2]);
            handles[5].Should().BeSameAs(handles[3]);
            opt.StepCount.Should().Be(6);
        }
    }
}
