using System.Diagnostics;
using DualFramework.Backends;
using DualFramework.Data;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Optim;
using DualFramework.Quantization;
using DualFramework.Training;
using Microsoft.ML.OnnxRuntime;

namespace DualFramework.Benchmarks;

/// <summary>
/// The "quant" suite: the Fashion-MNIST CNN of the sample (conv32-pool-conv64-pool-fc128-fc10), trained on the torch
/// backend (seed 0, Adam 2e-3 with cosine decay, batch 64), exported to float32 ONNX, statically quantized (QDQ, Auto
/// format, MinMax) on 200 training images and dynamically quantized; all run in ONNX Runtime for accuracy on the 10,000
/// test images and for latency at batch 1 and 64.
/// </summary>
public sealed class QuantWorkloads : IDisposable
{
    private const float Mean = 0.2860f, Std = 0.3530f; // the sample's standardisation
    private const int CalibrationImages = 200;
    private readonly string _dir;
    private readonly float[] _test;
    private readonly long[] _labels;
    private readonly Dictionary<string, InferenceSession> _sessions = [];
    private readonly List<IDisposable> _owned = [];

    public QuantWorkloads(int epochs, TextWriter log)
    {
        var data = FashionMnist.Load();
        _dir = Directory.CreateTempSubdirectory("df-quant-").FullName;
        Fp32Path = Path.Combine(_dir, "cnn_fp32.onnx");
        // The trained float model is kept in the temp folder (per epoch count), so a second run (e.g. under the AVX2
        // variables) measures the same weights without training again.
        string cached = Path.Combine(Path.GetTempPath(), $"df-quant-cnn-seed0-{epochs}ep.onnx");
        var sw = Stopwatch.StartNew();
        if (File.Exists(cached))
        {
            File.Copy(cached, Fp32Path);
            log.WriteLine($"reusing the float model trained earlier: {cached}");
        }
        else
        {
            Train(data, epochs, Fp32Path);
            File.Copy(Fp32Path, cached, overwrite: true);
        }
        TrainSeconds = sw.Elapsed.TotalSeconds;
        log.WriteLine($"float model ({epochs} epoch(s)) ready in {TrainSeconds:F1} s");

        // Calibration: the first 200 training images, one array per image.
        var trainPixels = Standardize(data.Train.ToFloatArray().AsSpan(0, CalibrationImages * 784));
        var calibration = Enumerable.Range(0, CalibrationImages).Select(i => trainPixels.AsSpan(i * 784, 784).ToArray());
        // DF_QUANT_FORMAT=S8S8|U8S8 overrides the Auto choice (to compare ONNX Runtime's kernels for the two).
        var format = Environment.GetEnvironmentVariable("DF_QUANT_FORMAT") is { Length: > 0 } f ? Enum.Parse<QuantizationFormat>(f, ignoreCase: true) : QuantizationFormat.Auto;
        Static = Quantizer.QuantizeStatic(Fp32Path, Path.Combine(_dir, "cnn_int8.onnx"), calibration, new StaticQuantizationOptions
        {
            Format = format,
            // DF_QUANT_MIN_CONV_DEPTH=0 quantizes the 1-channel first convolution too (to compare with the default, 16).
            MinConvDepth = int.TryParse(Environment.GetEnvironmentVariable("DF_QUANT_MIN_CONV_DEPTH"), out var depth) ? depth : new StaticQuantizationOptions().MinConvDepth,
        });
        Dynamic = Quantizer.QuantizeDynamic(Fp32Path, Path.Combine(_dir, "cnn_dynamic.onnx"));
        log.WriteLine(Static.Summary);
        log.WriteLine(Dynamic.Summary);

        _test = Standardize(data.Test.ToFloatArray());
        _labels = data.Test.Labels;
        foreach (var (k, p) in new[] { ("fp32", Fp32Path), ("int8", Static.OutputPath), ("dynamic", Dynamic.OutputPath) })
        {
            var o = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
            // Three sessions in one process have three thread pools whose workers spin after each run; interleaved, each run
            // would compete with the previous model's spinning workers (fp32 b64 measured 7 ms so, 2.5 ms alone).
            if (Environment.GetEnvironmentVariable("DF_QUANT_SPIN") != "1") o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            // DF_QUANT_DUMP=folder writes the graphs as ONNX Runtime optimised them (which Q/DQ groups became integer kernels).
            if (Environment.GetEnvironmentVariable("DF_QUANT_DUMP") is { Length: > 0 } dump) o.OptimizedModelFilePath = Path.Combine(dump, $"{k}_ort_optimized.onnx");
            _owned.Add(o);
            _sessions[k] = new InferenceSession(p, o);
        }
    }

    private static void Train(FashionMnistData data, int epochs, string path)
    {
        using var backend = BackendRegistry.Use(BackendRegistry.Get("torch"));
        using var net = Cnn(new SeededRandom(0));
        var train = data.Train.ToDataset().Shuffle(0).Map(e => e.WithFeatures(Standardize(e.Features.Span))).Batch(64).Prefetch(4);
        using var optimizer = new Adam(net.Parameters(), 2e-3);
        using var trainer = new Trainer(net);
        trainer.Compile(optimizer, new CrossEntropyLoss());
        long batches = (data.Train.Count + 63) / 64;
        trainer.Fit(train, epochs, callbacks: [new LearningRateScheduler(new CosineLr(epochs * batches), perStep: true)]);
        using var scope = TensorScope.Begin();
        ModuleExporter.Export(net, Tensor.FromArray(new float[784], new Shape(1, 1, 28, 28)), path);
    }

    public string Fp32Path { get; }
    public QuantizationResult Static { get; }
    public QuantizationResult Dynamic { get; }
    public double TrainSeconds { get; }

    /// <summary>Top-1 accuracy of the named model ("fp32", "int8", "dynamic") on the test set, 1,000 images per run.</summary>
    public double Accuracy(string model)
    {
        var s = _sessions[model];
        int correct = 0;
        for (int start = 0; start < _labels.Length; start += 1000)
        {
            int n = Math.Min(1000, _labels.Length - start);
            var logits = Run(s, _test.AsMemory(start * 784, n * 784), n);
            for (int i = 0; i < n; i++)
            {
                int best = 0;
                for (int k = 1; k < 10; k++) if (logits[i * 10 + k] > logits[i * 10 + best]) best = k;
                if (best == _labels[start + i]) correct++;
            }
        }
        return (double)correct / _labels.Length;
    }

    /// <summary>One inference of the named model at <paramref name="batch"/> (preallocated input and output).</summary>
    public Func<float> Infer(string model, int batch)
    {
        var s = _sessions[model];
        var input = OrtValue.CreateTensorValueFromMemory(_test.AsSpan(0, batch * 784).ToArray(), [batch, 1, 28, 28]);
        var output = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, [batch, 10]);
        var run = new RunOptions();
        _owned.AddRange([input, output, run]);
        string[] ins = [s.InputNames[0]], outs = [s.OutputNames[0]];
        return () =>
        {
            s.Run(run, ins, [input], outs, [output]);
            return output.GetTensorDataAsSpan<float>()[0];
        };
    }

    public long Bytes(string path) => new FileInfo(path).Length;

    private static float[] Run(InferenceSession s, Memory<float> x, int n)
    {
        using var v = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, x, [n, 1, 28, 28]);
        using var r = new RunOptions();
        using var outs = s.Run(r, [s.InputNames[0]], [v], [s.OutputNames[0]]);
        return outs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static float[] Standardize(ReadOnlySpan<float> pixels)
    {
        var f = pixels.ToArray();
        for (int i = 0; i < f.Length; i++) f[i] = (f[i] - Mean) / Std;
        return f;
    }

    // The sample's CNN (samples/FashionMnist/Models.cs), which the benchmarks do not reference.
    private static Sequential Cnn(SeededRandom rng) => new(
        new Conv2d(1, 32, 3, padding: 1, rng: rng), new ReLU(), new MaxPool2d(2),
        new Conv2d(32, 64, 3, padding: 1, rng: rng), new ReLU(), new MaxPool2d(2), new Flatten(),
        new Linear(64 * 7 * 7, 128, rng: rng), new ReLU(), new Linear(128, 10, rng: rng));

    public void Dispose()
    {
        foreach (var s in _sessions.Values) s.Dispose();
        foreach (var d in _owned) d.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
