using System.Diagnostics;
using DualFramework.Data;
using DualFramework.Onnx;
using DualFramework.Samples.FashionMnist;
using DualFramework.Tests.Support;
using FluentAssertions;
using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

/// <summary>
/// The target for float16 export on real data: the sample's CNN, briefly trained on Fashion-MNIST, exported with
/// float32 and with float16 weights; the float16 file is at most 51% of the float32 one and its top-1 predictions agree
/// with the float32 export's (both run in ONNX Runtime) on at least 99.5% of the 10,000 test images.
/// </summary>
[TestFixture]
[Category("Parity")]
[NonParallelizable]
public class Float16FashionMnistTests
{
    private const int TrainImages = 12_800; // a fifth of an epoch keeps the test to well under a minute on 2 cores

    [Test]
    public void Float16_export_is_half_the_size_and_agrees_on_the_test_set()
    {
        if (!FashionMnist.IsAvailable()) Assert.Ignore("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        var data = FashionMnist.Load();
        var dir = Path.Combine(Path.GetTempPath(), "df_fp16_fmnist_" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var sw = Stopwatch.StartNew();
        try
        {
            string p32 = Path.Combine(dir, "cnn32.onnx"), p16 = Path.Combine(dir, "cnn16.onnx");
            BriefFashionMnistCnn.Train(data, TrainImages, (net, sample) =>
            {
                ModuleExporter.Export(net, sample, p32);
                ModuleExporter.Export(net, sample, p16, new ModuleExportOptions { WeightsDType = DType.Float16 });
            });
            double trainSeconds = sw.Elapsed.TotalSeconds;

            long size32 = new FileInfo(p32).Length, size16 = new FileInfo(p16).Length;
            var images = FashionMnistJob.Standardize(data.Test.ToFloatArray());
            var top32 = Top1(p32, images, data.Test.Count);
            var top16 = Top1(p16, images, data.Test.Count);
            int agree = top32.Zip(top16).Count(p => p.First == p.Second);
            double accuracy32 = Accuracy(top32, data.Test.Labels), accuracy16 = Accuracy(top16, data.Test.Labels);
            double ratio = (double)size16 / size32, agreement = (double)agree / data.Test.Count;
            TestContext.Progress.WriteLine(
                $"Fashion-MNIST CNN ({TrainImages} training images, torch): float32 {size32} bytes, float16 {size16} bytes, ratio {ratio:F4}; " +
                $"top-1 agreement {agree}/{data.Test.Count} = {agreement:P2}; test accuracy float32 {accuracy32:P2}, float16 {accuracy16:P2}; " +
                $"train {trainSeconds:F1} s, total {sw.Elapsed.TotalSeconds:F1} s");
            accuracy32.Should().BeGreaterThan(0.75, "the model is trained, so agreement is not that of a constant classifier");
            ratio.Should().BeLessThanOrEqualTo(0.51);
            agreement.Should().BeGreaterThanOrEqualTo(0.995);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>The arg-max class of each image, from ONNX Runtime, 1,000 images per run.</summary>
    private static int[] Top1(string model, float[] images, int count)
    {
        const int chunk = 1000;
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(model, options);
        var top = new int[count];
        for (int start = 0; start < count; start += chunk)
        {
            int n = Math.Min(chunk, count - start);
            var bytes = new byte[n * 784 * 4];
            Buffer.BlockCopy(images, start * 784 * 4, bytes, 0, bytes.Length);
            var logits = OrtHarness.Run(session, [new OrtHarness.HostTensor(new TensorSpec(new Shape(n, 1, 28, 28), DType.Float32), bytes)])[0].ToDoubles();
            for (int i = 0; i < n; i++)
            {
                int best = 0;
                for (int k = 1; k < 10; k++) if (logits[i * 10 + k] > logits[i * 10 + best]) best = k;
                top[start + i] = best;
            }
        }
        return top;
    }

    private static double Accuracy(int[] top, long[] labels) => (double)top.Zip(labels).Count(p => p.First == p.Second) / top.Length;
}
