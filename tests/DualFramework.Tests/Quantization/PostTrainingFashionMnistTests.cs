using System.Diagnostics;
using DualFramework.Data;
using DualFramework.Onnx;
using DualFramework.Quantization;
using DualFramework.Samples.FashionMnist;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Quantization;

/// <summary>
/// The targets on real data: the sample's CNN, briefly trained on Fashion-MNIST, exported as float32 and
/// statically quantized (QDQ, MinMax, 200 calibration images); in ONNX Runtime the int8 model loses at most 0.5 accuracy
/// points on the 10,000 test images and its file is at most 27% of the float32 one. The full figures (2 epochs,
/// latency) come from <c>--ratio quant</c> in the benchmarks.
/// </summary>
[TestFixture]
[Category("Parity")]
[NonParallelizable]
public class PostTrainingFashionMnistTests
{
    private const int TrainImages = 12_800; // a fifth of an epoch keeps the test well under a minute on 2 cores

    [Test]
    public void Static_int8_cnn_keeps_accuracy_within_half_a_point_at_a_quarter_of_the_size()
    {
        if (!FashionMnist.IsAvailable()) Assert.Ignore("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        var data = FashionMnist.Load();
        var dir = QuantTestSupport.TempDir("fmnist");
        var sw = Stopwatch.StartNew();
        try
        {
            string p32 = Path.Combine(dir, "cnn32.onnx");
            BriefFashionMnistCnn.Train(data, TrainImages, (net, sample) => ModuleExporter.Export(net, sample, p32));
            var calibPixels = FashionMnistJob.Standardize(data.Train.ToFloatArray().AsSpan(0, 200 * 784));
            var calibration = Enumerable.Range(0, 200).Select(i => calibPixels.AsSpan(i * 784, 784).ToArray());
            var result = Quantizer.QuantizeStatic(p32, Path.Combine(dir, "cnn8.onnx"), calibration);

            double acc32 = Deployment.Evaluate(p32, data.Test, FashionMnistJob.StandardizePixels);
            double acc8 = Deployment.Evaluate(result.OutputPath, data.Test, FashionMnistJob.StandardizePixels);
            double ratio = (double)new FileInfo(result.OutputPath).Length / new FileInfo(p32).Length;
            TestContext.Progress.WriteLine($"{result.Summary}\nFashion-MNIST CNN ({TrainImages} training images): accuracy float32 {acc32:P2}, int8 {acc8:P2} " +
                $"(drop {(acc32 - acc8) * 100:F2} points); size ratio {ratio:F4}; {sw.Elapsed.TotalSeconds:F1} s");
            acc32.Should().BeGreaterThan(0.75, "the model is trained");
            result.QuantizedNodes.Should().HaveCount(3, "the second convolution and both linear layers");
            result.FloatNodes.Should().ContainSingle().Which.Should().Contain("MinConvDepth", "the 1-channel 3×3 convolution stays float");
            (acc32 - acc8).Should().BeLessThanOrEqualTo(0.005);
            ratio.Should().BeLessThanOrEqualTo(0.27);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

}
