using DualFramework.Backends;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Samples.FashionMnist;
using DualFramework.Serving;
using Microsoft.ML.OnnxRuntime;

namespace DualFramework.Tests.Serving;

/// <summary>
/// Untrained Fashion-MNIST CNNs (the sample's <c>Models.Cnn</c>) exported with <see cref="ModuleExporter"/>, one per seed,
/// so that each repository version computes different logits and a response shows which version answered.
/// </summary>
internal static class ServingModels
{
    public const string Model = "fmnist";
    private static readonly Lock Gate = new();
    private static readonly Dictionary<int, string> Files = [];
    private static readonly string Cache = CreateCache();

    // One folder per test process, removed when the process exits (the Serving and Cli tests share the exports).
    private static string CreateCache()
    {
        var dir = Directory.CreateTempSubdirectory("df-serving-models-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
        };
        return dir;
    }

    /// <summary>The exported CNN of <paramref name="seed"/> (exported once per test run).</summary>
    public static string CnnFile(int seed)
    {
        lock (Gate)
        {
            if (Files.TryGetValue(seed, out var path)) return path;
            path = Path.Combine(Cache, $"cnn-seed{seed}.onnx");
            using (BackendRegistry.Use(BackendRegistry.Get("torch")))
            using (var net = Models.Cnn(new SeededRandom(seed)))
            {
                net.Eval();
                using var scope = TensorScope.Begin();
                ModuleExporter.Export(net, Tensor.FromArray(new float[28 * 28], new Shape(1, 1, 28, 28)), path);
            }
            Files[seed] = path;
            return path;
        }
    }

    /// <summary>A deterministic 1×1×28×28 image in [0, 1).</summary>
    public static float[] Image(int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, 28 * 28).Select(_ => (float)r.NextDouble()).ToArray();
    }

    public static NamedTensor Input(float[] image) => new("input", TensorDType.Float32, [1, 1, 28, 28], image);

    /// <summary>The CNN of <paramref name="seed"/> run in-process by ONNX Runtime on <paramref name="image"/>.</summary>
    public static float[] Expected(int seed, float[] image)
    {
        using var session = new InferenceSession(CnnFile(seed));
        using var input = OrtValue.CreateTensorValueFromMemory(image, [1, 1, 28, 28]);
        using var run = new RunOptions();
        using var outputs = session.Run(run, ["input"], [input], session.OutputNames);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>
    /// Writes version <paramref name="version"/> atomically: the files go to a hidden folder beside it, which is then renamed,
    /// so the server never sees half a version. <c>metadata.json</c> records the seed.
    /// </summary>
    public static void WriteVersion(string root, long version, int seed) =>
        WriteAtomically(root, version, dir =>
        {
            File.Copy(CnnFile(seed), Path.Combine(dir, ModelRepository.ModelFileName));
            File.WriteAllText(Path.Combine(dir, ModelRepository.MetadataFileName), $"{{\"seed\": {seed}}}");
        });

    /// <summary>Writes a version whose model.onnx is the first half of a real one (a truncated copy).</summary>
    public static void WriteBrokenVersion(string root, long version) =>
        WriteAtomically(root, version, dir =>
        {
            var bytes = File.ReadAllBytes(CnnFile(1));
            File.WriteAllBytes(Path.Combine(dir, ModelRepository.ModelFileName), bytes[..(bytes.Length / 2)]);
        });

    private static void WriteAtomically(string root, long version, Action<string> write)
    {
        var modelDir = Path.Combine(root, Model);
        Directory.CreateDirectory(modelDir);
        var staging = Path.Combine(modelDir, $".incoming-{version}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        write(staging);
        Directory.Move(staging, Path.Combine(modelDir, version.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    public static string NewRoot() => Directory.CreateTempSubdirectory("df-serving-repo-").FullName;

    public static float MaxAbsDifference(float[] a, float[] b) => a.Zip(b, (x, y) => MathF.Abs(x - y)).Max();
}
