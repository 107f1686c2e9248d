using System.Globalization;
using DualFramework.Data;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Quantization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace DualFramework.Samples.FashionMnist;

/// <summary>What the deployment step measured: the float32 ONNX export and the compressed one, both run by ONNX Runtime on
/// the 10,000 test images.</summary>
/// <param name="Kind">"static", "dynamic", "qat" or "prune".</param>
/// <param name="FloatAccuracy">Test accuracy of the float32 export.</param>
/// <param name="Accuracy">Test accuracy of the compressed model.</param>
/// <param name="FloatBytes">Size of the float32 .onnx file.</param>
/// <param name="Bytes">Size of the compressed file (gzip-compressed size for pruning, whose zeros only compress).</param>
/// <param name="Summary">The quantizer's or pruner's own summary line.</param>
public sealed record DeployResult(string Kind, double FloatAccuracy, double Accuracy, long FloatBytes, long Bytes, string Summary)
{
    /// <summary>Compressed size over the float32 size.</summary>
    public double SizeRatio => (double)Bytes / FloatBytes;

    /// <summary>The JSON fields (no braces) for the sample's last line.</summary>
    public string JsonFields => string.Create(CultureInfo.InvariantCulture,
        $"\"deploy\":\"{Kind}\",\"onnx_fp32_accuracy\":{FloatAccuracy:F4},\"onnx_{Kind}_accuracy\":{Accuracy:F4},\"size_ratio\":{SizeRatio:F4}");
}

/// <summary>The sample's post-training compression: export to ONNX, quantize (static with 200 calibration images, or
/// dynamic), and evaluate both files in ONNX Runtime.</summary>
public static class Deployment
{
    /// <summary>Number of training images the static quantizer calibrates on.</summary>
    public const int CalibrationImages = 200;

    /// <summary>Exports <paramref name="net"/> (eval mode) and quantizes it as <paramref name="kind"/> says.</summary>
    public static DeployResult Quantize(string kind, Module net, FashionMnistData data, Func<float[], float[]> standardize, string folder)
    {
        Directory.CreateDirectory(folder);
        var floatPath = Path.Combine(folder, "cnn-fp32.onnx");
        var intPath = Path.Combine(folder, $"cnn-int8-{kind}.onnx");
        Export(net, data, floatPath);
        var result = kind switch
        {
            "static" => Quantizer.QuantizeStatic(floatPath, intPath, CalibrationSet(data, standardize)),
            "dynamic" => Quantizer.QuantizeDynamic(floatPath, intPath),
            _ => throw new ArgumentException($"unknown quantization '{kind}' (static or dynamic)", nameof(kind)),
        };
        return new DeployResult(kind, Evaluate(floatPath, data.Test, standardize), Evaluate(intPath, data.Test, standardize),
            new FileInfo(floatPath).Length, new FileInfo(intPath).Length, result.Summary);
    }

    /// <summary>Writes the float32 ONNX export of <paramref name="net"/> (eval mode, dynamic batch).</summary>
    public static void Export(Module net, FashionMnistData data, string path)
    {
        net.Eval();
        using var scope = TensorScope.Begin();
        var sample = Tensor.FromArray(new float[data.Test.ImageShape.NumElements], new Shape([1, .. data.Test.ImageShape.ToArray()]),
            net.Parameters().First().Value.Backend);
        ModuleExporter.Export(net, sample, path);
    }

    // The first training images, in file order, standardised as in training.
    private static IEnumerable<float[]> CalibrationSet(FashionMnistData data, Func<float[], float[]> standardize)
    {
        var all = data.Train.ToFloatArray();
        int size = checked((int)data.Train.ImageShape.NumElements);
        for (int i = 0; i < CalibrationImages; i++) yield return standardize(all.AsSpan(i * size, size).ToArray());
    }

    /// <summary>Top-1 accuracy of the ONNX model at <paramref name="path"/> on <paramref name="images"/>, run by ONNX Runtime.</summary>
    public static double Evaluate(string path, LabeledImages images, Func<float[], float[]> standardize)
    {
        using var options = new SessionOptions();
        using var session = new InferenceSession(path, options);
        var pixels = standardize(images.ToFloatArray());
        int size = checked((int)images.ImageShape.NumElements), n = images.Labels.Length, correct = 0;
        const int batch = 1000;
        long[] dims = [batch, .. images.ImageShape.ToArray()];
        for (int start = 0; start < n; start += batch)
        {
            int count = Math.Min(batch, n - start);
            dims[0] = count;
            var input = new DenseTensor<float>(pixels.AsMemory(start * size, count * size), dims.Select(d => (int)d).ToArray());
            using var outputs = session.Run([NamedOnnxValue.CreateFromTensor(session.InputNames[0], input)]);
            var logits = outputs[0].AsTensor<float>().ToArray();
            int classes = logits.Length / count;
            for (int i = 0; i < count; i++)
            {
                int best = 0;
                for (int c = 1; c < classes; c++)
                    if (logits[i * classes + c] > logits[i * classes + best]) best = c;
                if (best == images.Labels[start + i]) correct++;
            }
        }
        return (double)correct / n;
    }
}
