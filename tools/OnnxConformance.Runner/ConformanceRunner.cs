using System.Runtime.InteropServices;
using System.Text;
using DualFramework.Backends;
using DualFramework.Onnx.Proto;
using Google.Protobuf;

namespace DualFramework.Onnx.Conformance;

/// <summary>Outcome of one conformance case.</summary>
public enum CaseOutcome
{
    /// <summary>Every output of every data set matched within tolerance.</summary>
    Passed,

    /// <summary>The model imported but an output differed, had the wrong shape/dtype, or running it threw.</summary>
    Failed,

    /// <summary>The importer rejected the model for something it does not support (op, dtype, opset, attribute...).</summary>
    Unsupported,
}

/// <summary>Result of one case folder.</summary>
/// <param name="Name">The case folder's name (e.g. <c>test_relu</c>).</param>
/// <param name="Outcome">Passed, failed or unsupported.</param>
/// <param name="Reason">Why it did not pass (one line); null when it passed.</param>
public sealed record CaseResult(string Name, CaseOutcome Outcome, string? Reason);

/// <summary>Tolerances and limits of a conformance run.</summary>
public sealed record ConformanceOptions
{
    /// <summary>Relative tolerance (ONNX backend tests: 1e-3).</summary>
    public double Rtol { get; init; } = 1e-3;

    /// <summary>Absolute tolerance (ONNX backend tests: 1e-7).</summary>
    public double Atol { get; init; } = 1e-7;

    /// <summary>Per-case time limit; a case still running after it counts as failed and is abandoned. Null: no limit.</summary>
    public TimeSpan? Timeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Only case folders whose name contains this text (ordinal) run; null runs all.</summary>
    public string? Filter { get; init; }
}

/// <summary>Counts of a conformance run over a suite folder.</summary>
/// <param name="Backend">The backend's name.</param>
/// <param name="Cases">One result per case folder, sorted by name.</param>
public sealed record ConformanceSummary(string Backend, IReadOnlyList<CaseResult> Cases)
{
    /// <summary>Cases that passed.</summary>
    public int Passed => Cases.Count(c => c.Outcome == CaseOutcome.Passed);

    /// <summary>Cases that failed.</summary>
    public int Failed => Cases.Count(c => c.Outcome == CaseOutcome.Failed);

    /// <summary>Cases the importer does not support.</summary>
    public int Unsupported => Cases.Count(c => c.Outcome == CaseOutcome.Unsupported);

    /// <summary>All cases.</summary>
    public int Total => Cases.Count;

    /// <summary>The one-line JSON summary, e.g. <c>{"backend":"torch","passed":1,"failed":0,"unsupported":0,"total":1}</c>.</summary>
    public string ToJson() =>
        $"{{\"backend\":\"{Backend}\",\"passed\":{Passed},\"failed\":{Failed},\"unsupported\":{Unsupported},\"total\":{Total}}}";
}

/// <summary>
/// Runs ONNX backend-test case folders (as in the ONNX repository's <c>onnx/backend/test/data/node</c>): each folder holds
/// <c>model.onnx</c> and <c>test_data_set_*/input_N.pb</c> / <c>output_N.pb</c> (serialized <see cref="TensorProto"/>s, or
/// <see cref="SequenceProto"/>s and <see cref="OptionalProto"/>s where the model declares a sequence or optional input or output).
/// The model is imported with <see cref="OnnxImporter"/>, run on a backend, and every output compared with ONNX's rule
/// |actual − expected| ≤ atol + rtol·|expected| (NaN equals NaN; integer and bool outputs exactly; shapes and dtypes must
/// match; sequences element by element, optionals by presence and content). See <c>docs/onnx-conformance.md</c>.
/// </summary>
public static class ConformanceRunner
{
    // Import errors that describe a missing feature rather than a wrong result.
    private static readonly string[] UnsupportedMarkers =
    [
        "not supported", "unsupported", "DualFramework lacks", "only opsets", "only the default ONNX domain",
        "is not a tensor", "must be a constant", "cannot be expressed with symmetric padding", "only 1-D and 2-D",
        "only 2-D pooling", "only rank-4", "only value, value_float",
    ];

    /// <summary>Runs every case folder directly under <paramref name="suiteDirectory"/> (sorted by name) on <paramref name="backend"/>.</summary>
    /// <param name="suiteDirectory">Folder of case folders.</param>
    /// <param name="backend">Backend to run on.</param>
    /// <param name="options">Tolerances, timeout and filter.</param>
    /// <param name="onCase">Called after each case (e.g. to print progress).</param>
    public static ConformanceSummary RunSuite(string suiteDirectory, IComputeBackend backend, ConformanceOptions? options = null, Action<CaseResult>? onCase = null)
    {
        ArgumentNullException.ThrowIfNull(suiteDirectory);
        ArgumentNullException.ThrowIfNull(backend);
        options ??= new ConformanceOptions();
        if (!Directory.Exists(suiteDirectory)) throw new DirectoryNotFoundException($"Suite folder '{suiteDirectory}' does not exist.");
        var results = new List<CaseResult>();
        foreach (var dir in Directory.GetDirectories(suiteDirectory).OrderBy(d => d, StringComparer.Ordinal))
        {
            if (!File.Exists(Path.Combine(dir, "model.onnx"))) continue;
            if (options.Filter != null && !Path.GetFileName(dir).Contains(options.Filter, StringComparison.Ordinal)) continue;
            var r = RunCase(dir, backend, options);
            results.Add(r);
            onCase?.Invoke(r);
        }
        return new ConformanceSummary(backend.Name, results);
    }

    /// <summary>Node-suite cases whose expected outputs contradict their own model, by name, with the reason; they are
    /// reported as unsupported ("excluded: ...") without being run, as ONNX Runtime's backend-test filters exclude broken
    /// cases.</summary>
    public static IReadOnlyDictionary<string, string> BadReferenceData { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        // ONNX's generator (backend/test/case/node/adam.py) computes the outputs with epsilon 1e-2 but leaves the attribute
        // off the node, so the schema's default (1e-6) applies to the model: the data cannot be matched by following the spec.
        ["test_adam_multiple"] = "the expected outputs use Adam epsilon 1e-2, the model omits epsilon (schema default 1e-6)",
    };

    /// <summary>Runs one case folder; never throws for problems of the case itself (they become the result).</summary>
    public static CaseResult RunCase(string caseDirectory, IComputeBackend backend, ConformanceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(caseDirectory);
        ArgumentNullException.ThrowIfNull(backend);
        options ??= new ConformanceOptions();
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(caseDirectory));
        if (BadReferenceData.TryGetValue(name, out var excluded)) return new CaseResult(name, CaseOutcome.Unsupported, $"excluded: {excluded}");
        if (options.Timeout is not { } limit) return Guard(name, () => RunCaseCore(name, caseDirectory, backend, options));
        // Native kernels cannot be interrupted: a case past its limit is reported and left to finish on its own thread.
        var task = Task.Factory.StartNew(() => Guard(name, () => RunCaseCore(name, caseDirectory, backend, options)),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return task.Wait(limit) ? task.Result : new CaseResult(name, CaseOutcome.Failed, $"timed out after {limit.TotalSeconds:0.#} s");
    }

    private static CaseResult Guard(string name, Func<CaseResult> run)
    {
        try
        {
            return run();
        }
        catch (Exception e)
        {
            return new CaseResult(name, CaseOutcome.Failed, $"{e.GetType().Name}: {OneLine(e.Message)}");
        }
    }

    private static CaseResult RunCaseCore(string name, string dir, IComputeBackend backend, ConformanceOptions options)
    {
        var modelPath = Path.Combine(dir, "model.onnx");
        ModelProto model;
        try
        {
            model = ModelProto.Parser.WithDiscardUnknownFields(true).ParseFrom(File.ReadAllBytes(modelPath));
        }
        catch (InvalidProtocolBufferException e)
        {
            return new CaseResult(name, CaseOutcome.Failed, $"model.onnx does not parse: {OneLine(e.Message)}");
        }
        var sets = Directory.GetDirectories(dir, "test_data_set_*").OrderBy(d => d, StringComparer.Ordinal).ToArray();
        if (sets.Length == 0) return new CaseResult(name, CaseOutcome.Failed, "no test_data_set_* folder");

        // Unsupported ops are reported before looking at the data (sequence/optional data would not parse as tensors).
        try
        {
            OnnxImporter.FromModel(model.Clone(), new OnnxImportOptions { Backend = backend, InitializersAsConstants = true }, dir).Dispose();
        }
        catch (OnnxImportException e) when (IsUnsupported(e))
        {
            return new CaseResult(name, CaseOutcome.Unsupported, OneLine(e.Message));
        }
        catch (OnnxImportException)
        {
            // Possibly only because of symbolic input dims: retried below with the data set's shapes.
        }

        foreach (var set in sets)
        {
            var inputs = ReadValues(set, "input_", DataInputs(model.Graph).Select(i => i.Type).ToList());
            var expected = ReadValues(set, "output_", model.Graph.Output.Select(o => o.Type).ToList());
            if ((inputs.Error ?? expected.Error) is { } err) return new CaseResult(name, CaseOutcome.Unsupported, err);
            var setName = Path.GetFileName(set);
            var reason = RunSet(model, dir, backend, options, inputs.Values, expected.Values, out bool unsupported);
            if (reason != null)
                return new CaseResult(name, unsupported ? CaseOutcome.Unsupported : CaseOutcome.Failed, sets.Length > 1 ? $"{setName}: {reason}" : reason);
        }
        return new CaseResult(name, CaseOutcome.Passed, null);
    }

    private static string? RunSet(ModelProto original, string dir, IComputeBackend backend, ConformanceOptions options,
        List<DataValue> inputs, List<DataValue> expected, out bool unsupported)
    {
        unsupported = false;
        var model = original.Clone();
        var graphInputs = DataInputs(model.Graph);
        if (graphInputs.Count != inputs.Count)
            return $"the model has {graphInputs.Count} input(s), the data set {inputs.Count}";
        // Symbolic (dim_param / unknown) input dims take the data's sizes, as a runtime binding the inputs would.
        for (int i = 0; i < inputs.Count; i++)
        {
            var shape = graphInputs[i].Type?.TensorType?.Shape;
            if (shape == null || inputs[i].Tensor is not { } t || shape.Dim.Count != t.Spec.Shape.Rank) continue;
            for (int a = 0; a < shape.Dim.Count; a++)
                if (shape.Dim[a].ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue)
                    shape.Dim[a] = new TensorShapeProto.Types.Dimension { DimValue = t.Spec.Shape[a] };
        }
        ImportedModel imported;
        try
        {
            imported = OnnxImporter.FromModel(model, new OnnxImportOptions { Backend = backend, InitializersAsConstants = true }, dir);
        }
        catch (OnnxImportException e)
        {
            unsupported = IsUnsupported(e);
            return $"import: {OneLine(e.Message)}";
        }
        using (imported)
        using (TensorScope.Begin())
        {
            if (imported.OutputSpecs.Count != expected.Count)
                return $"the model has {imported.OutputSpecs.Count} output(s), the data set {expected.Count}";
            for (int i = 0; i < inputs.Count; i++)
                if (inputs[i].Tensor is { } t && t.Spec != imported.InputSpecs[i])
                    return $"input {imported.InputNames[i]}: the model expects {imported.InputSpecs[i]}, the data is {t.Spec}";
            var args = inputs.Select(x => x.ToOnnxValue(backend)).ToArray();
            var outs = imported.Run(backend, args);
            for (int i = 0; i < outs.Length; i++)
                if (CompareValue(outs[i], expected[i], options) is { } why)
                    return $"output {imported.OutputNames[i]}: {why}";
        }
        return null;
    }

    /// <summary>
    /// Compares an actual tensor with the expected one by ONNX's rule; returns null when they match, else a short reason
    /// (dtype or shape mismatch, or the worst element with its index).
    /// </summary>
    public static string? Compare(TensorSpec actualSpec, ReadOnlySpan<byte> actual, TensorSpec expectedSpec, ReadOnlySpan<byte> expected, double rtol = 1e-3, double atol = 1e-7)
    {
        if (actualSpec.DType != expectedSpec.DType) return $"dtype {actualSpec.DType.Name()}, expected {expectedSpec.DType.Name()}";
        if (actualSpec.Shape != expectedSpec.Shape) return $"shape {actualSpec.Shape}, expected {expectedSpec.Shape}";
        long n = expectedSpec.Shape.NumElements;
        var dtype = expectedSpec.DType;
        if (!dtype.IsFloating())
        {
            int size = dtype.ElementSize();
            for (long k = 0; k < n; k++)
                if (!actual.Slice((int)(k * size), size).SequenceEqual(expected.Slice((int)(k * size), size)))
                    return $"element {k} is {Element(dtype, actual, k)}, expected {Element(dtype, expected, k)} (exact)";
            return null;
        }
        long bad = 0, worst = -1;
        double worstExcess = 0;
        for (long k = 0; k < n; k++)
        {
            double a = Element(dtype, actual, k), b = Element(dtype, expected, k);
            if (a.Equals(b)) continue; // also NaN == NaN and equal infinities
            double excess = Math.Abs(a - b) - (atol + rtol * Math.Abs(b));
            if (excess <= 0) continue;
            bad++;
            if (worst < 0 || double.IsNaN(excess) || excess > worstExcess) { worst = k; worstExcess = double.IsNaN(excess) ? double.PositiveInfinity : excess; }
        }
        if (bad == 0) return null;
        double wa = Element(dtype, actual, worst), wb = Element(dtype, expected, worst);
        return $"{bad} of {n} elements differ; worst at {worst}: {wa:R} vs expected {wb:R} (|diff| {Math.Abs(wa - wb):G3})";
    }

    private static double Element(DType dtype, ReadOnlySpan<byte> data, long k) => dtype switch
    {
        DType.Float32 => MemoryMarshal.Read<float>(data[(int)(4 * k)..]),
        DType.Float64 => MemoryMarshal.Read<double>(data[(int)(8 * k)..]),
        DType.Float16 => (double)MemoryMarshal.Read<Half>(data[(int)(2 * k)..]),
        DType.BFloat16 => BitConverter.UInt32BitsToSingle((uint)MemoryMarshal.Read<ushort>(data[(int)(2 * k)..]) << 16),
        DType.Int64 => MemoryMarshal.Read<long>(data[(int)(8 * k)..]),
        DType.Int32 => MemoryMarshal.Read<int>(data[(int)(4 * k)..]),
        DType.Int8 => (sbyte)data[(int)k],
        DType.UInt8 or DType.Bool => data[(int)k],
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>True when an import error means "not supported" (unsupported ops, opsets, dtypes, non-tensor values,
    /// attributes or inputs the importer cannot map) rather than a malformed model.</summary>
    public static bool IsUnsupported(OnnxImportException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.UnsupportedOps.Count > 0 || UnsupportedMarkers.Any(m => e.Message.Contains(m, StringComparison.OrdinalIgnoreCase));
    }

    private static List<ValueInfoProto> DataInputs(GraphProto g)
    {
        var inits = new HashSet<string>(g.Initializer.Select(t => t.Name), StringComparer.Ordinal);
        return g.Input.Where(i => !inits.Contains(i.Name)).ToList();
    }

    /// <summary>A value of a test data file: a tensor, a sequence of tensors, or an optional (<see cref="Element"/> null when empty).</summary>
    private sealed record DataValue(OnnxValueKind Kind, (TensorSpec Spec, byte[] Data)? Tensor = null,
        IReadOnlyList<(TensorSpec Spec, byte[] Data)>? Elements = null, DataValue? Element = null)
    {
        public OnnxValue ToOnnxValue(IComputeBackend backend) => Kind switch
        {
            OnnxValueKind.Tensor => OnnxValue.FromTensor(global::DualFramework.Tensor.FromBytes(Tensor!.Value.Data, Tensor.Value.Spec, backend)),
            OnnxValueKind.Sequence => OnnxValue.FromSequence(Elements!.Select(e => global::DualFramework.Tensor.FromBytes(e.Data, e.Spec, backend))),
            _ => OnnxValue.Optional(Element?.ToOnnxValue(backend)),
        };
    }

    private static string? CompareValue(OnnxValue actual, DataValue expected, ConformanceOptions options)
    {
        if (actual.Kind != expected.Kind) return $"a {actual.Kind}, expected a {expected.Kind}";
        string? Tensor(Tensor t, (TensorSpec Spec, byte[] Data) e) => Compare(t.Spec, t.ToBytes(), e.Spec, e.Data, options.Rtol, options.Atol);
        switch (actual.Kind)
        {
            case OnnxValueKind.Tensor:
                return Tensor(actual.Tensor, expected.Tensor!.Value);
            case OnnxValueKind.Sequence:
                if (actual.Elements.Count != expected.Elements!.Count) return $"a sequence of {actual.Elements.Count}, expected {expected.Elements.Count}";
                for (int k = 0; k < actual.Elements.Count; k++)
                    if (Tensor(actual.Elements[k], expected.Elements[k]) is { } why) return $"element {k}: {why}";
                return null;
            default:
                if (actual.Element == null || expected.Element == null)
                    return (actual.Element == null) == (expected.Element == null) ? null : actual.Element == null ? "empty, expected a value" : "a value, expected empty";
                return CompareValue(actual.Element, expected.Element, options);
        }
    }

    // Reads prefixN.pb for each declared type: a TensorProto, SequenceProto or OptionalProto as the type says (the files
    // carry no type of their own; an untyped value is read as a tensor).
    private static (List<DataValue> Values, string? Error) ReadValues(string set, string prefix, IReadOnlyList<TypeProto?> types)
    {
        var list = new List<DataValue>();
        for (int k = 0; ; k++)
        {
            var path = Path.Combine(set, $"{prefix}{k}.pb");
            if (!File.Exists(path)) break;
            var type = k < types.Count ? types[k] : null;
            try
            {
                var bytes = File.ReadAllBytes(path);
                list.Add(type?.ValueCase switch
                {
                    TypeProto.ValueOneofCase.SequenceType => Sequence(SequenceProto.Parser.ParseFrom(bytes), set),
                    TypeProto.ValueOneofCase.OptionalType => Optional(OptionalProto.Parser.ParseFrom(bytes), set),
                    _ => new DataValue(OnnxValueKind.Tensor, Tensor: ReadTensor(TensorProto.Parser.ParseFrom(bytes), set)),
                });
            }
            catch (InvalidProtocolBufferException e)
            {
                return (list, $"{prefix}{k}.pb does not parse as the model's type: {OneLine(e.Message)}");
            }
            catch (OnnxImportException e)
            {
                return (list, $"{prefix}{k}.pb: {OneLine(e.Message)}");
            }
        }
        return (list, null);
    }

    private static (TensorSpec, byte[]) ReadTensor(TensorProto t, string set) => OnnxImporter.TensorData.Read(t, new OnnxImportOptions(), set);

    private static DataValue Sequence(SequenceProto s, string set)
    {
        if (s.SequenceValues.Count > 0 || s.OptionalValues.Count > 0)
            throw new OnnxImportException("sequences of sequences or optionals are not supported");
        return new DataValue(OnnxValueKind.Sequence, Elements: s.TensorValues.Select(t => ReadTensor(t, set)).ToList());
    }

    private static DataValue Optional(OptionalProto o, string set) => o.ElemType switch
    {
        (int)OptionalProto.Types.DataType.Undefined => new DataValue(OnnxValueKind.Optional),
        (int)OptionalProto.Types.DataType.Tensor => new DataValue(OnnxValueKind.Optional, Element: new DataValue(OnnxValueKind.Tensor, Tensor: ReadTensor(o.TensorValue, set))),
        (int)OptionalProto.Types.DataType.Sequence => new DataValue(OnnxValueKind.Optional, Element: Sequence(o.SequenceValue, set)),
        _ => throw new OnnxImportException($"optional values of element type {o.ElemType} are not supported"),
    };

    private static string OneLine(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s) sb.Append(char.IsControl(c) ? ' ' : c);
        var r = sb.ToString();
        return r.Length > 300 ? r[..297] + "..." : r;
    }
}
