using DualFramework.Backends;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Tests.Support;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Parity;

/// <summary>
/// One model trained under a mixed policy eagerly on the torch backend and compiled on the graph backend: the per-step losses
/// and the final weights agree within the precision's own tolerance.
/// </summary>
/// <remarks>
/// The tolerance: both backends compute each autocast op from the same rounded operands with float32 accumulation and round
/// the result once to the compute dtype (unit roundoff u: 2^-8 for bfloat16, 2^-11 for float16), but summation orders
/// differ, so a result near a rounding boundary can land one ulp apart (≤ 2u relative). The network has two low-precision
/// layers whose roundings add, and the float32 loss averages them: per step the losses agree within 4u relative (1.6e-2
/// for bf16; the 1e-2 is the figure for a single rounded layer, which the first step checks: 2u ≈ 0.8e-2). Across
/// steps the weights drift by the learning rate times the gradient differences, which are themselves u-relative: after S
/// SGD steps of rate η the weights differ by at most S·η·4u·max|g|, far below u·max|w| for the 12 steps here.
/// </remarks>
[TestFixture]
[Category("Parity")]
public class MixedPrecisionParityTests
{
    private static (List<double> Losses, float[][] Weights, long Skipped) Train(string backend, string precision)
    {
        using var _ = BackendRegistry.Use(BackendRegistry.Get(backend));
        var rng = new SeededRandom(21);
        using var model = new Sequential(new Linear(8, 32, rng: rng), new ReLU(), new Linear(32, 4, rng: rng));
        using var opt = new Sgd(model.Parameters(), 0.05, momentum: 0.9);
        using var trainer = new Trainer(model);
        trainer.Compile(opt, new CrossEntropyLoss(), precision: precision);
        var losses = new List<double>();
        for (int epoch = 0; epoch < 2; epoch++)
            foreach (var b in ClusterData.Batches(3).WithEpoch(epoch))
            {
                using var s = TensorScope.Begin();
                var (x, y) = b.ToTensors();
                losses.Add(trainer.TrainStep(x, y));
            }
        (trainer.CompiledTrainStep != null).Should().Be(backend == "graph");
        return (losses, model.Parameters().Select(p => p.Value.ToFloatArray()).ToArray(), trainer.LossScaler?.SkippedSteps ?? 0);
    }

    [TestCase("mixed_bfloat16", 1.0 / 256)]
    [TestCase("mixed_float16", 1.0 / 2048)]
    public void Eager_torch_and_compiled_graph_agree_within_the_precisions_tolerance(string precision, double u)
    {
        var torch = Train("torch", precision);
        var graph = Train("graph", precision);
        graph.Skipped.Should().Be(torch.Skipped, "the loss scaler skips the same steps on both");
        graph.Losses.Should().HaveCount(12);
        Math.Abs(graph.Losses[0] - torch.Losses[0]).Should().BeLessThanOrEqualTo(2 * u * Math.Abs(torch.Losses[0]), "step 1: same weights, one rounding apart");
        for (int i = 0; i < torch.Losses.Count; i++)
            Math.Abs(graph.Losses[i] - torch.Losses[i]).Should().BeLessThanOrEqualTo(4 * u * Math.Abs(torch.Losses[i]), $"step {i + 1}");
        for (int p = 0; p < torch.Weights.Length; p++)
        {
            double scale = torch.Weights[p].Max(v => Math.Abs((double)v));
            for (int k = 0; k < torch.Weights[p].Length; k++)
                Math.Abs((double)graph.Weights[p][k] - torch.Weights[p][k]).Should().BeLessThanOrEqualTo(u * scale, $"parameter {p}[{k}]");
        }
    }
}
