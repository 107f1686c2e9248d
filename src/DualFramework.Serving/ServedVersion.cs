using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace DualFramework.Serving;

/// <summary>
/// One loaded model version: its ONNX Runtime session, signatures and metadata. Requests hold leases on it; the repository
/// holds one reference while the version takes traffic. The session is disposed when the last reference goes, so a retired
/// version finishes its in-flight requests before it is freed (TF-Serving's availability-preserving policy).
/// </summary>
public sealed class ServedVersion
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _outputNames;
    // 1 for the repository's reference + 1 per lease; 0 means disposed, and then it never rises again.
    private int _references = 1;
    private DynamicBatcher? _batcher;

    private ServedVersion(string model, long version, string directory, InferenceSession session, JsonElement? metadata)
    {
        Model = model;
        Version = version;
        Directory = directory;
        _session = session;
        Metadata = metadata;
        Inputs = Signatures(session.InputMetadata, "input");
        Outputs = Signatures(session.OutputMetadata, "output");
        _outputNames = Outputs.Select(o => o.Name).ToArray();
    }

    /// <summary>Model name (the repository folder).</summary>
    public string Model { get; }

    /// <summary>Version number (the version folder).</summary>
    public long Version { get; }

    /// <summary>The version's folder.</summary>
    public string Directory { get; }

    /// <summary>The model's inputs, in graph order.</summary>
    public IReadOnlyList<TensorSignature> Inputs { get; }

    /// <summary>The model's outputs, in graph order.</summary>
    public IReadOnlyList<TensorSignature> Outputs { get; }

    /// <summary>The parsed <c>metadata.json</c> of the version, when it has one.</summary>
    public JsonElement? Metadata { get; }

    /// <summary>With dynamic batching on, the joined runs made so far and the request rows they carried; null when off
    /// (or when the model's signatures do not allow batching).</summary>
    public (long Runs, long Rows)? BatchStatistics => _batcher?.Statistics;

    /// <summary>Whether the session has been disposed (the version was retired and drained).</summary>
    public bool IsDisposed => Volatile.Read(ref _references) == 0;

    /// <summary>Raised once, on the thread that dropped the last reference, after the session was disposed.</summary>
    internal event Action<ServedVersion>? Disposed;

    /// <summary>
    /// Loads <c>model.onnx</c> (and <c>metadata.json</c>) from <paramref name="directory"/> and runs it once — on the example
    /// request under <c>metadata.json</c>'s <c>"warmup"</c> field, else on zeros shaped like its inputs (size 1 where a
    /// dimension is free) — so that the first request finds a warm session. Throws
    /// <see cref="ModelLoadException"/> naming what failed.
    /// </summary>
    internal static ServedVersion Load(string model, long version, string directory, ServingOptions options)
    {
        var modelPath = Path.Combine(directory, ModelRepository.ModelFileName);
        JsonElement? metadata = null;
        var metadataPath = Path.Combine(directory, ModelRepository.MetadataFileName);
        if (File.Exists(metadataPath))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(metadataPath));
                metadata = doc.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new ModelLoadException($"{metadataPath} is not valid JSON: {e.Message}", e);
            }
        }
        InferenceSession session;
        using (var sessionOptions = options.CreateSessionOptions())
        {
            try
            {
                session = new InferenceSession(modelPath, sessionOptions);
            }
            catch (Exception e) when (e is OnnxRuntimeException or IOException or UnauthorizedAccessException)
            {
                throw new ModelLoadException($"ONNX Runtime cannot load {modelPath}: {e.Message}", e);
            }
        }
        ServedVersion? served = null;
        try
        {
            served = new ServedVersion(model, version, directory, session, metadata);
            served.WarmUp();
            if (options.Batching is { } batching && DynamicBatcher.Supports(served))
                served._batcher = new DynamicBatcher(served, batching);
            return served;
        }
        catch (Exception e)
        {
            // Whatever the warm-up ran into (ORT's error, a shape too large for memory), the version is not served.
            session.Dispose();
            served?._runOptions.Dispose();
            throw e as ModelLoadException ?? new ModelLoadException($"warm-up run of {modelPath} failed: {e.GetType().Name}: {e.Message}", e);
        }
    }

    private static TensorSignature[] Signatures(IReadOnlyDictionary<string, NodeMetadata> metadata, string kind) =>
        metadata.Select(m =>
        {
            if (!m.Value.IsTensor || TensorDTypes.FromOrt(m.Value.ElementDataType) is not { } dtype)
                throw new ModelLoadException($"{kind} '{m.Key}' is not a tensor of float32, float64, int32 or int64 (the server supports only those)");
            return new TensorSignature(m.Key, dtype, m.Value.Dimensions.Select(d => (long)d).ToArray());
        }).ToArray();

    /// <summary>Name of the optional <c>metadata.json</c> field holding the warm-up request (the <c>:predict</c> JSON body).</summary>
    public const string WarmupField = "warmup";

    // The model's own example input when metadata.json gives one (a predict body under "warmup", checked against the
    // signatures like a request), else zeros shaped like the inputs with free dimensions of size 1.
    private void WarmUp()
    {
        NamedTensor[] inputs;
        if (Metadata is { ValueKind: JsonValueKind.Object } m && m.TryGetProperty(WarmupField, out var example))
        {
            try
            {
                inputs = JsonTensorCodec.ReadInputs(example, Inputs);
            }
            catch (ServingException e)
            {
                throw new ModelLoadException($"the \"{WarmupField}\" example in {ModelRepository.MetadataFileName} does not fit the model: {e.Message}", e);
            }
        }
        else
        {
            inputs = Inputs.Select(i =>
            {
                var shape = i.Shape.Select(d => d < 0 ? 1L : d).ToArray();
                return new NamedTensor(i.Name, i.DType, shape, i.DType.Allocate(checked((int)NamedTensor.ElementCount(shape))));
            }).ToArray();
        }
        RunSession(inputs);
    }

    /// <summary>Takes a lease for one request; false when the version has already been disposed.</summary>
    internal bool TryAcquire()
    {
        while (true)
        {
            int current = Volatile.Read(ref _references);
            if (current == 0) return false;
            if (Interlocked.CompareExchange(ref _references, current + 1, current) == current) return true;
        }
    }

    /// <summary>Drops a lease (or the repository's reference); the last one disposes the session.</summary>
    internal void Release()
    {
        int left = Interlocked.Decrement(ref _references);
        if (left > 0) return;
        Debug.Assert(left == 0, "a version was released more often than acquired");
        _batcher?.Dispose();
        _session.Dispose();
        _runOptions.Dispose();
        Disposed?.Invoke(this);
    }

    /// <summary>
    /// Runs the model on <paramref name="inputs"/> (already validated against <see cref="Inputs"/>) and returns every
    /// output. The caller must hold a lease. With dynamic batching on, the request may share one run with others.
    /// </summary>
    internal Task<NamedTensor[]> RunAsync(NamedTensor[] inputs) =>
        _batcher is { } b ? b.SubmitAsync(inputs) : Task.FromResult(RunSession(inputs));

    /// <summary>One ONNX Runtime run (thread-safe: ORT allows concurrent <c>Run</c> calls on one session).</summary>
    internal NamedTensor[] RunSession(NamedTensor[] inputs)
    {
        var values = new OrtValue[inputs.Length];
        var names = new string[inputs.Length];
        try
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                names[i] = inputs[i].Name;
                values[i] = CreateValue(inputs[i]);
            }
            using var results = _session.Run(_runOptions, names, values, _outputNames);
            var outputs = new NamedTensor[results.Count];
            for (int i = 0; i < results.Count; i++) outputs[i] = Copy(_outputNames[i], Outputs[i].DType, results[i]);
            return outputs;
        }
        finally
        {
            foreach (var v in values) v?.Dispose();
        }
    }

    private static OrtValue CreateValue(NamedTensor t) => t.Data switch
    {
        float[] a => OrtValue.CreateTensorValueFromMemory(a, t.Shape),
        double[] a => OrtValue.CreateTensorValueFromMemory(a, t.Shape),
        int[] a => OrtValue.CreateTensorValueFromMemory(a, t.Shape),
        long[] a => OrtValue.CreateTensorValueFromMemory(a, t.Shape),
        _ => throw new ArgumentException($"input '{t.Name}' holds unsupported data {t.Data.GetType().Name}"),
    };

    private static NamedTensor Copy(string name, TensorDType dtype, OrtValue value)
    {
        var shape = value.GetTensorTypeAndShape().Shape;
        Array data = dtype switch
        {
            TensorDType.Float32 => value.GetTensorDataAsSpan<float>().ToArray(),
            TensorDType.Float64 => value.GetTensorDataAsSpan<double>().ToArray(),
            TensorDType.Int32 => value.GetTensorDataAsSpan<int>().ToArray(),
            _ => value.GetTensorDataAsSpan<long>().ToArray(),
        };
        return new NamedTensor(name, dtype, shape, data);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Model} version {Version}";
}
