using System.Reflection;
using DualFramework.Fuzz.Mutators;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using Google.Protobuf;

namespace DualFramework.Fuzz.Targets;

/// <summary>
/// <see cref="OnnxImporter.FromBytes"/> (parse, validate, build the graph and the model's state on the CPU backend) on
/// mutations of the ONNX node-test models (with their test inputs, which mutations turn into initializers) and, for one
/// input in <see cref="ResNet18Every"/>, of the pretrained ResNet18. External data resolves in a scratch folder holding
/// two real data files and links that lead outside it. Documented: <see cref="OnnxImportException"/>.
/// </summary>
public sealed class OnnxTarget : FuzzTarget
{
    /// <summary>Default node-test folder (Debian package libonnx-testdata).</summary>
    public const string DefaultNodeTests = "/usr/share/libonnx-testdata/data/node";

    /// <summary>One input in this many mutates ResNet18 (63.6 MB; an import takes far longer than a node model's).</summary>
    public const int ResNet18Every = 250;

    private readonly List<(byte[] File, ModelProto Model, TensorProto[] Inputs)> _supported = [];
    private readonly List<(byte[] File, ModelProto Model, TensorProto[] Inputs)> _other = [];
    private readonly (byte[] File, ModelProto Model)? _resnet;
    private readonly string _dir;

    /// <param name="nodeTests">The node-test folder (one sub-folder per case).</param>
    /// <param name="resNet18">ResNet18.onnx, or null to fuzz the node models only.</param>
    public OnnxTarget(string nodeTests = DefaultNodeTests, string? resNet18 = null)
    {
        var parser = ModelProto.Parser.WithDiscardUnknownFields(true);
        foreach (var dir in Directory.GetDirectories(nodeTests).Order(StringComparer.Ordinal))
        {
            var file = File.ReadAllBytes(Path.Combine(dir, "model.onnx"));
            var model = parser.ParseFrom(file);
            var inputs = new List<TensorProto>();
            for (int i = 0; File.Exists(Path.Combine(dir, "test_data_set_0", $"input_{i}.pb")); i++)
                inputs.Add(TensorProto.Parser.WithDiscardUnknownFields(true).ParseFrom(File.ReadAllBytes(Path.Combine(dir, "test_data_set_0", $"input_{i}.pb"))));
            // Most inputs go to models whose every op the importer maps: those get past the op check to the deeper stages.
            bool mapped = model.Graph.Node.All(n => string.IsNullOrEmpty(n.Domain) && OnnxImporter.SupportedOps.Contains(n.OpType));
            (mapped ? _supported : _other).Add((file, model, inputs.ToArray()));
        }
        if (resNet18 != null)
        {
            var file = File.ReadAllBytes(resNet18);
            _resnet = (file, parser.ParseFrom(file));
        }
        _dir = Directory.CreateTempSubdirectory("df-fuzz-onnx-").FullName;
        var data = new byte[4096];
        new Random(4096).NextBytes(data);
        File.WriteAllBytes(Path.Combine(_dir, "weights.bin"), data);
        Directory.CreateDirectory(Path.Combine(_dir, "sub"));
        File.WriteAllBytes(Path.Combine(_dir, "sub", "weights.bin"), data);
        File.CreateSymbolicLink(Path.Combine(_dir, "escape.bin"), "/etc/passwd");
        Directory.CreateSymbolicLink(Path.Combine(_dir, "linkdir"), "/etc");
        // Loading the native backend and compiling the importer happen once per process, not per file: done here, so
        // the first input's time is the loader's own.
        try
        {
            if (_supported.Count > 0) Load(_supported[0].File);
        }
        catch (OnnxImportException)
        {
            // Only the warm-up matters.
        }
    }

    /// <summary>The seeds: node-test models whose ops are all mapped, and the others.</summary>
    public (int Supported, int Other) SeedCounts => (_supported.Count, _other.Count);

    /// <summary>The scratch folder external data resolves in.</summary>
    public string BaseDirectory => _dir;

    /// <summary>Import options: the defaults, which are what a user gets.</summary>
    public OnnxImportOptions Options { get; init; } = new();

    /// <inheritdoc/>
    public override string Name => "onnx";

    /// <inheritdoc/>
    public override string Extension => ".onnx";

    /// <inheritdoc/>
    public override IEnumerable<byte[]> Seeds() => _supported.Concat(_other).Select(s => s.File);

    /// <inheritdoc/>
    public override byte[] Generate(Random rng, int index)
    {
        if (_resnet is { } r && index % ResNet18Every == ResNet18Every - 1)
        {
            if (rng.Next(4) == 0) return ByteMutator.Mutate(rng, r.File, maxSteps: 2);
            var big = r.Model.Clone();
            for (int k = 1 + rng.Next(2); k > 0; k--) OnnxMutator.Mutate(rng, big, []);
            return big.ToByteArray();
        }
        while (true)
        {
            var pool = rng.Next(5) == 0 || _supported.Count == 0 ? _other : _supported;
            var (file, model, inputs) = pool[rng.Next(pool.Count)];
            int kind = rng.Next(100);
            if (kind < 25) return ByteMutator.Mutate(rng, file, other: _supported[rng.Next(_supported.Count)].File);
            var m = model.Clone();
            for (int k = 1 + rng.Next(3); k > 0; k--) OnnxMutator.Mutate(rng, m, inputs);
            var bytes = m.ToByteArray();
            // Stacked growth mutations (a long chain of nodes that each carry 100,000 ints) can reach hundreds of MB:
            // such inputs measure the machine, not the loader, so they are drawn again.
            if (bytes.Length > MaxNodeModelBytes) continue;
            return kind < 85 ? bytes : ByteMutator.Mutate(rng, bytes, maxSteps: 2);
        }
    }

    /// <summary>Largest input made from a node-test model.</summary>
    public const int MaxNodeModelBytes = 4 << 20;

    /// <inheritdoc/>
    public override long Load(byte[] input)
    {
        using var scope = TensorScope.Begin();
        using var model = OnnxImporter.FromBytes(input, Options, _dir);
        return model.StateDict().Values.Sum(t => t.NumElements * t.DType.ElementSize());
    }

    /// <inheritdoc/>
    public override bool IsDocumented(Exception e) => e is OnnxImportException;

    /// <summary>Protobuf decoding alone grows data up to 8-fold (a one-byte varint becomes an 8-byte long) and repeated
    /// fields grow by doubling, so the bound is linear in the input with a larger factor than the other loaders'.</summary>
    public override long AllocationBound(byte[] input) => (64L << 20) + 32L * input.Length;

    /// <inheritdoc/>
    public override void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        base.Dispose();
    }

    /// <summary>ResNet18.onnx from the NuGet package this assembly was built against, or null when it is not there.</summary>
    public static string? FindResNet18()
    {
        var dir = typeof(OnnxTarget).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "ResNet18PackagePath")?.Value;
        if (string.IsNullOrEmpty(dir)) return null;
        var path = Path.Combine(dir, "tools", "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");
        return File.Exists(path) ? path : null;
    }
}
