using System.Globalization;
using DualFramework.Data;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Optim;
using DualFramework.Quantization;
using DualFramework.Quantization.Qat;
using DualFramework.Training;
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
        $"\"deploy\":\"{Kind}\",\"onnx_fp32_accuracy\":{FloatAccuracy:F4},\"onnx_{Kind}_accuracy\":{Accuracy:F4},\"{(Kind == "prune" ? "gzip_size_ratio" : "size_ratio")}\":{SizeRatio:F4}");
}

/// <summary>The sample's post-training compression: export to ONNX, then quantize (static with 200 calibration images,
/// dynamic, or quantization-aware fine-tuning) or prune, and evaluate both files in ONNX Runtime.</summary>
public static class Deployment
{
    /// <summary>
    /// Quantization-aware training: fake-quant inserted into <paramref name="net"/>, one epoch of fine-tuning at 1e-4 (cosine
    /// decay), converted to the QDQ ONNX form and compared with the float32 export taken before.
    /// </summary>
    public static DeployResult QuantizeAware(Module net, FashionMnistData data, Dataset<Batch> train, long batches, Func<float[], float[]> standardize, string folder)
    {
        Directory.CreateDirectory(folder);
        var floatPath = Path.Combine(folder, "cnn-fp32.onnx");
        var qatPath = Path.Combine(folder, "cnn-int8-qat.onnx");
        Export(net, data, floatPath);
        var layers = Qat.Prepare(net);
        FineTune(net, train, 1e-4, batches, []);
        net.Eval();
        using (TensorScope.Begin())
            Qat.Convert(net, Sample(net, data), qatPath);
        return new DeployResult("qat", Evaluate(floatPath, data.Test, standardize), Evaluate(qatPath, data.Test, standardize),
            new FileInfo(floatPath).Length, new FileInfo(qatPath).Length, $"quantization-aware training: {layers.Count} layers fake-quantized, 1 epoch of fine-tuning");
    }

    /// <summary>
    /// Magnitude pruning to <paramref name="sparsity"/> (one global threshold over the conv and linear weights) under a
    /// PolynomialDecay schedule reaching it at two thirds of one fine-tuning epoch (Adam 1e-3, cosine decay); the masks are
    /// then made permanent and the sizes compared gzip-compressed (ONNX Runtime gains no speed from unstructured zeros).
    /// </summary>
    public static DeployResult Prune(double sparsity, Module net, FashionMnistData data, Dataset<Batch> train, long batches, Func<float[], float[]> standardize, string folder)
    {
        Directory.CreateDirectory(folder);
        var densePath = Path.Combine(folder, "cnn-fp32.onnx");
        var prunedPath = Path.Combine(folder, "cnn-pruned.onnx");
        Export(net, data, densePath);
        var targets = Pruning.Weights(net);
        var schedule = new PolynomialDecay(targets, 0, sparsity, beginStep: 0, endStep: batches * 2 / 3, power: 3, frequency: 100, global: true);
        FineTune(net, train, 1e-3, batches, [schedule]);
        var report = Pruning.Report(net);
        Pruning.RemoveAll(net);
        Export(net, data, prunedPath);
        return new DeployResult("prune", Evaluate(densePath, data.Test, standardize), Evaluate(prunedPath, data.Test, standardize),
            Pruning.CompressedSize(densePath), Pruning.CompressedSize(prunedPath), $"pruned to {sparsity:P0} sparsity (global magnitude, PolynomialDecay over 2/3 of an epoch): " + report.ToString().Split('\n').Last(l => l.Trim().Length > 0).Trim());
    }

    private static void FineTune(Module net, Dataset<Batch> train, double lr, long batches, Callback[] callbacks)
    {
        net.Train();
        using var adam = new Adam(net.Parameters(), lr);
        using var trainer = new Trainer(net);
        trainer.Compile(adam, new CrossEntropyLoss(), [new Accuracy()]);
        trainer.Fit(train, 1, callbacks: [.. callbacks, new LearningRateScheduler(new CosineLr(batches), perStep: true)]);
    }

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
        ModuleExporter.Export(net, Sample(net, data), path);
    }

    private static Tensor Sample(Module net, FashionMnistData data) =>
        Tensor.FromArray(new float[data.Test.ImageShape.NumElements], new Shape([1, .. data.Test.ImageShape.ToArray()]),
            net.Parameters().First().Value.Backend);

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
