using System.Diagnostics;
using DualFramework.Backends;
using DualFramework.Data;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Quantization.Qat;
using DualFramework.Samples.FashionMnist;
using DualFramework.Tests.Onnx;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Quantization;

/// <summary>
/// The QAT target on real data (docs/quantization.md ("Quantization-aware training"), "Figures"): the sample's CNN trained in float32 for 2 epochs (seed 0,
/// Adam 2e-3 with cosine decay, batch 64, standardised pixels, torch), then prepared and fine-tuned for 1 epoch at 1e-4,
/// converted to QDQ ONNX and run in ONNX Runtime on the 10,000 test images; QAT must end at most 0.2 points below float32.
/// </summary>
[TestFixture]
[Category("Parity")]
[NonParallelizable]
public class QatFashionMnistTests
{
    private const int Batch = 64;

    private static void Fit(Module net, FashionMnistData data, double lr, int epochs, long seed)
    {
        var train = data.Train.ToDataset().Shuffle(seed).Map(FashionMnistJob.Standardize).Batch(Batch).Prefetch(4);
        long batches = (data.Train.Count + Batch - 1) / Batch;
        using var optimizer = new Adam(net.Parameters(), lr);
        using var trainer = new Trainer(net);
        trainer.Compile(optimizer, new CrossEntropyLoss());
        trainer.Fit(train, epochs, callbacks: [new LearningRateScheduler(new CosineLr(epochs * batches), perStep: true)]);
    }

    // Eval-mode forward on the current backend, 1,000 images at a time.
    private static double Accuracy(Module net, float[] images, long[] labels)
    {
        net.Eval();
        int correct = 0;
        for (int start = 0; start < labels.Length; start += 1000)
        {
            int n = Math.Min(1000, labels.Length - start);
            using var scope = TensorScope.Begin();
            using var noGrad = DualFramework.Autodiff.Autograd.NoGrad();
            var logits = net.Call(Tensor.FromArray(images.AsSpan(start * 784, n * 784).ToArray(), new Shape(n, 1, 28, 28))).ToFloatArray();
            correct += Correct(logits.Select(v => (double)v).ToArray(), labels, start, n);
        }
        return (double)correct / labels.Length;
    }

    private static int Correct(IReadOnlyList<double> logits, long[] labels, int start, int n)
    {
        int correct = 0;
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int k = 1; k < 10; k++) if (logits[i * 10 + k] > logits[i * 10 + best]) best = k;
            if (best == labels[start + i]) correct++;
        }
        return correct;
    }

    [Test]
    public void Qat_recovers_to_within_0_2_points_of_float32_after_one_epoch()
    {
        if (!FashionMnist.IsAvailable()) Assert.Ignore("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        var data = FashionMnist.Load();
        var dir = Path.Combine(Path.GetTempPath(), "df_qat_fmnist_" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var sw = Stopwatch.StartNew();
        try
        {
            string path = Path.Combine(dir, "cnn_qdq.onnx"), floatPath = Path.Combine(dir, "cnn_float32.onnx");
            var images = data.Test.ToFloatArray();
            FashionMnistJob.StandardizePixels(images);
            double float32, qat;
            double floatSeconds, qatSeconds;
            using (BackendRegistry.Use(BackendRegistry.Get("torch")))
            using (var net = Models.Cnn(new SeededRandom(0)))
            {
                Fit(net, data, 2e-3, 2, 0);
                floatSeconds = sw.Elapsed.TotalSeconds;
                float32 = Accuracy(net, images, data.Test.Labels);
                TestContext.Progress.WriteLine($"float32: {float32:P2} after 2 epochs ({floatSeconds:F0} s)");
                using (TensorScope.Begin())
                    DualFramework.Onnx.ModuleExporter.Export(net, Tensor.FromArray(new float[28 * 28], new Shape(1, 1, 28, 28)), floatPath);
                Qat.Prepare(net);
                Fit(net, data, 1e-4, 1, 1);
                qatSeconds = sw.Elapsed.TotalSeconds - floatSeconds;
                qat = Accuracy(net, images, data.Test.Labels);
                TestContext.Progress.WriteLine($"QAT eval: {qat:P2} after 1 epoch ({qatSeconds:F0} s)");
                using var scope = TensorScope.Begin();
                Qat.Convert(net, Tensor.FromArray(new float[28 * 28], new Shape(1, 1, 28, 28)), path);
            }
            double onnx = Deployment.Evaluate(path, data.Test, FashionMnistJob.StandardizePixels);
            long bytes = new FileInfo(path).Length, floatBytes = new FileInfo(floatPath).Length;
            TestContext.Progress.WriteLine(
                $"Fashion-MNIST CNN: float32 {float32:P2} (2 epochs, {floatSeconds:F0} s), QAT eval {qat:P2} (1 epoch at 1e-4, {qatSeconds:F0} s), " +
                $"ONNX QDQ in ORT {onnx:P2}; QDQ file {bytes} bytes, float32 file {floatBytes} bytes (ratio {(double)bytes / floatBytes:F4}); total {sw.Elapsed.TotalSeconds:F0} s");
            OnnxChecker.CheckDirectory(dir);
            ((double)bytes / floatBytes).Should().BeLessThan(0.26, "int8 weights: about 4x smaller than float32");
            qat.Should().BeGreaterThanOrEqualTo(float32 - 0.002, "the issue's target: QAT at most 0.2 points below float32");
            onnx.Should().BeGreaterThanOrEqualTo(float32 - 0.002, "the exported QDQ model computes what the QAT model computes");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

}
