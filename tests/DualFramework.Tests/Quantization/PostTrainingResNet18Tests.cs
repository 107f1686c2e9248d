using DualFramework.Data;
using DualFramework.Onnx;
using DualFramework.Quantization;
using DualFramework.Tests.Onnx;
using FluentAssertions;
using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;

namespace DualFramework.Tests.Quantization;

/// <summary>
/// The ResNet18 target on a pretrained network: the imported CNTK ResNet18 (opset 8) is exported at the exporter's
/// opset with its batch norms folded, statically quantized on Fashion-MNIST images prepared as the ImportResNet18 sample
/// prepares them, and both files run in ONNX Runtime: every 512-d feature vector of the int8 model keeps a cosine
/// similarity of at least 0.99 with the float32 model's (the sample's accuracy comparison: samples/ImportResNet18). On a
/// CPU without VNNI the automatic format takes 7-bit weights, whose step is twice as large: the weights' share of the
/// quantization noise variance grows at most fourfold, so the cosine distance 1 − c may grow at most fourfold, to 0.04
/// (measured with the AVX2 limit: 0.0101 against 0.0047 with 8 bits).
/// </summary>
[TestFixture]
[NonParallelizable]
public class PostTrainingResNet18Tests
{
    private const int Pixels = 3 * 224 * 224;

    // 28×28 grey → 224×224 nearest, three channels, ImageNet channel means subtracted (the CNTK model's input).
    private static float[] Preprocess(LabeledImages split, int n)
    {
        double[] means = [123.68, 116.78, 103.94];
        var x = new float[Pixels];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 224; y++)
                for (int col = 0; col < 224; col++)
                    x[(c * 224 + y) * 224 + col] = (float)(split.Pixels[n * 784 + (y / 8) * 28 + col / 8] - means[c]);
        return x;
    }

    [Test]
    public void Static_int8_resnet18_features_keep_cosine_similarity_above_0_99()
    {
        if (!FashionMnist.IsAvailable()) Assert.Ignore("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        var data = FashionMnist.Load();
        var dir = QuantTestSupport.TempDir("resnet18");
        try
        {
            string floatPath = Path.Combine(dir, "resnet18.onnx"), int8Path = Path.Combine(dir, "resnet18_int8.onnx");
            using (var resnet = OnnxImporter.Load(ImportTests.ResNet18Path(), new OnnxImportOptions { InitializersAsConstants = true }))
            using (TensorScope.Begin())
                ModuleExporter.Export(resnet, Tensor.FromArray(new float[Pixels], new Shape(1, 3, 224, 224)), floatPath,
                    new ModuleExportOptions { DynamicBatch = false });
            var result = Quantizer.QuantizeStatic(floatPath, int8Path, Enumerable.Range(0, 16).Select(n => Preprocess(data.Train, n)),
                new StaticQuantizationOptions { CalibrationBatchSize = 1 });
            TestContext.Progress.WriteLine(result.Summary);
            result.QuantizedNodes.Should().HaveCount(22, "the CNTK export has 22 Conv nodes, the featurizer no Gemm");
            result.FloatNodes.Should().BeEmpty("every convolution's folded weight is a constant");
            result.SizeRatio.Should().BeLessThan(0.27);

            using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
            using var fp32 = new InferenceSession(floatPath, options);
            using var int8 = new InferenceSession(int8Path, options);
            float[] Features(InferenceSession s, float[] x)
            {
                using var v = OrtValue.CreateTensorValueFromMemory(x, [1, 3, 224, 224]);
                using var r = new RunOptions();
                using var outs = s.Run(r, s.InputNames, [v], s.OutputNames);
                return outs[0].GetTensorDataAsSpan<float>().ToArray();
            }
            var cosines = new List<double>();
            for (int n = 0; n < 12; n++)
            {
                var x = Preprocess(data.Test, n);
                var (f, q) = (Features(fp32, x), Features(int8, x));
                f.Should().HaveCount(512);
                double dot = 0, ff = 0, qq = 0;
                for (int j = 0; j < 512; j++)
                {
                    dot += (double)f[j] * q[j];
                    ff += (double)f[j] * f[j];
                    qq += (double)q[j] * q[j];
                }
                cosines.Add(dot / Math.Sqrt(ff * qq));
            }
            TestContext.Progress.WriteLine($"cosine similarity int8 vs float32 on 12 test images: min {cosines.Min():F4}, mean {cosines.Average():F4}");
            double least = result.Choice.ReduceRange ? 1 - 4 * (1 - 0.99) : 0.99;
            cosines.Should().AllSatisfy(c => c.Should().BeGreaterThanOrEqualTo(least, result.Choice.Reason));
            OnnxChecker.CheckDirectory(dir);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
