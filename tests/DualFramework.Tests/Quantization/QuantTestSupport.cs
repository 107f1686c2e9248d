using System.Runtime.InteropServices;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;

namespace DualFramework.Tests.Quantization;

/// <summary>Exporting small models, reading quantized ones back and running both in ONNX Runtime.</summary>
internal static class QuantTestSupport
{
    public static string TempDir(string tag)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"df_ptq_{tag}_{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static string Export(Module m, long[] sampleShape, string dir, string name)
    {
        using var s = TensorScope.Begin();
        var path = Path.Combine(dir, name + ".onnx");
        ModuleExporter.Export(m, Tensor.FromArray(new float[new Shape(sampleShape).NumElements], new Shape(sampleShape)), path);
        return path;
    }

    public static ModelProto Load(string path) => ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));

    public static TensorProto Init(ModelProto m, string name) => m.Graph.Initializer.Single(t => t.Name == name);

    public static float[] Floats(TensorProto t) => MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();

    public static int[] Ints(TensorProto t) => (TensorProto.Types.DataType)t.DataType switch
    {
        TensorProto.Types.DataType.Int8 => t.RawData.Span.ToArray().Select(b => (int)unchecked((sbyte)b)).ToArray(),
        TensorProto.Types.DataType.Uint8 => t.RawData.Span.ToArray().Select(b => (int)b).ToArray(),
        TensorProto.Types.DataType.Int32 => MemoryMarshal.Cast<byte, int>(t.RawData.Span).ToArray(),
        var other => throw new ArgumentException($"{other} is not an integer type"),
    };

    /// <summary>The node producing <paramref name="value"/>.</summary>
    public static NodeProto Producer(ModelProto m, string value) => m.Graph.Node.Single(n => n.Output.Contains(value));

    /// <summary>The one output of the model at <paramref name="path"/> for input <paramref name="x"/>.</summary>
    public static float[] Run(string path, float[] x, long[] shape)
    {
        using var o = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(path, o);
        using var v = OrtValue.CreateTensorValueFromMemory(x, shape);
        using var r = new RunOptions();
        using var outs = session.Run(r, session.InputNames, [v], session.OutputNames);
        return outs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary><paramref name="count"/> samples of <paramref name="size"/> values uniform in [lo, hi), seeded.</summary>
    public static List<float[]> RandomSamples(int seed, int count, int size, double lo, double hi)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, size).Select(_ => (float)(lo + (hi - lo) * rng.NextDouble())).ToArray()).ToList();
    }
}
