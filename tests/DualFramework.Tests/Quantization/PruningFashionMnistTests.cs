using System.Diagnostics;
using DualFramework.Backends;
using DualFramework.Data;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Optim;
using DualFramework.Quantization;
using DualFramework.Samples.FashionMnist;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Quantization;

/// <summary>
/// docs/quantization.md ("Magnitude pruning")'s figures: the sample's CNN trained in float32 for 2 epochs (seed 0, as the main job), then pruned to 80%
/// sparsity of all kernels together by one epoch of fine-tuning under a global <see cref="PolynomialDecay"/> (0 → 0.8 over
/// the first 2/3 of the epoch; per-layer 80% left the first convolution 58 of its 288 weights and cost 1.65 points).
/// Targets: accuracy drop ≤ 1 point, gzip-compressed ONNX export ≤ 35% of the dense export's.
/// </summary>
[TestFixture]
[Category("Parity")]
[NonParallelizable]
public class PruningFashionMnistTests
{
    private const int BatchSize = 64;

    [TestCase("torch")]
    [TestCase("graph")]
    public void Cnn_pruned_to_80_percent_keeps_accuracy_and_compresses(string backend)
    {
        if (!FashionMnist.IsAvailable()) Assert.Ignore("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        var data = FashionMnist.Load();
        var dir = Directory.CreateTempSubdirectory("pruning-fmnist").FullName;
        var log = new Log();
        try
        {
            using var scope = BackendRegistry.Use(BackendRegistry.Get(backend));
            var train = data.Train.ToDataset().Shuffle(0).Map(FashionMnistJob.Standardize).Batch(BatchSize).Prefetch(4);
            var test = data.Test.ToDataset().Map(FashionMnistJob.Standardize).Batch(1000).Prefetch(2);
            long batches = (data.Train.Count + BatchSize - 1) / BatchSize;
            using var net = Models.Cnn(new SeededRandom(0));
            var sw = Stopwatch.StartNew();

            // Dense: the main job's recipe (Adam 2e-3, per-step cosine over 2 epochs).
            double dense;
            using (var adam = new Adam(net.Parameters(), 2e-3))
            using (var trainer = new Trainer(net))
            {
                trainer.Compile(adam, new CrossEntropyLoss(), [new Accuracy()]);
                trainer.Fit(train, 2, callbacks: [new LearningRateScheduler(new CosineLr(2 * batches), perStep: true)]);
                dense = trainer.Evaluate(test)["accuracy"];
            }
            log.WriteLine($"{backend}: dense accuracy {dense:F4} after {sw.Elapsed.TotalSeconds:F0} s");
            var sample = Tensor.FromArray(new float[28 * 28], new Shape(1, 1, 28, 28));
            var densePath = Path.Combine(dir, "dense.onnx");
            ModuleExporter.Export(net.Eval(), sample, densePath);

            // Fine-tuning epoch (epoch index 2 of the shuffle): a new trainer and optimizer, created after the masks exist
            // so that the compiled step (graph backend) reads them as state; begin 0, end 2/3 of the epoch, every 100 steps.
            double pruned;
            var targets = Pruning.Weights(net);
            var schedule = new PolynomialDecay(targets, 0, 0.8, beginStep: 0, endStep: batches * 2 / 3, power: 3, frequency: 100, global: true);
            using (var adam = new Adam(net.Parameters(), 1e-3))
            using (var trainer = new Trainer(net))
            {
                trainer.Compile(adam, new CrossEntropyLoss(), [new Accuracy()]);
                trainer.Fit(train, 3, callbacks: [schedule, new LearningRateScheduler(new CosineLr(batches), perStep: true)], initialEpoch: 2);
                pruned = trainer.Evaluate(test)["accuracy"];
            }
            var report = Pruning.Report(net);
            log.WriteLine($"{backend}: pruned accuracy {pruned:F4} ({schedule.Updates} mask updates) after {sw.Elapsed.TotalSeconds:F0} s");
            log.WriteLine(report.ToString());
            // Global: 80% of all kernel entries together (the per-layer split follows the magnitudes).
            var rows = targets.Select(t => report[t.Layer.FullName + "." + t.ParameterName]).ToList();
            rows.Sum(r => r.Zeros).Should().Be((long)Math.Round(0.8 * rows.Sum(r => r.Elements), MidpointRounding.ToEven));

            // Export without masks (PyTorch's prune.remove / TF-MOT's strip_pruning): the forward never read them.
            Pruning.RemoveAll(net).Should().Be(targets.Count);
            var prunedPath = Path.Combine(dir, "pruned.onnx");
            ModuleExporter.Export(net.Eval(), sample, prunedPath);
            long denseRaw = new FileInfo(densePath).Length, prunedRaw = new FileInfo(prunedPath).Length;
            long denseGz = Pruning.CompressedSize(densePath), prunedGz = Pruning.CompressedSize(prunedPath);
            double ratio = (double)prunedGz / denseGz;
            log.WriteLine($"{backend}: ONNX {denseRaw} / {prunedRaw} bytes; gzip dense {denseGz}, pruned {prunedGz} ({100 * ratio:F1}% of dense); " +
                          $"accuracy drop {100 * (dense - pruned):F2} points; total sparsity {PruningMasksText(report)}");
            prunedRaw.Should().Be(denseRaw, "same tensors, same format: only the compressed size changes");
            (dense - pruned).Should().BeLessThanOrEqualTo(0.01);
            ratio.Should().BeLessThanOrEqualTo(0.35);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // Figures go to TestContext.Progress, and also to the file named by PRUNING_LOG (vstest shows progress only at the end).
    private sealed class Log
    {
        private readonly string? _file = Environment.GetEnvironmentVariable("PRUNING_LOG");

        public void WriteLine(string line)
        {
            TestContext.Progress.WriteLine(line);
            if (_file != null) File.AppendAllText(_file, line + Environment.NewLine);
        }
    }

    private static string PruningMasksText(SparsityReport r) => $"{100 * r.Sparsity:F2}% of {r.Elements} parameters";
}
