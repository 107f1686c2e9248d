using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.NN;
using DualFramework.Onnx.Proto;
using Google.Protobuf;

namespace DualFramework.Onnx;

/// <summary>
/// Imports ONNX models (default-domain opsets 1–17, and the ai.onnx.preview.training optimizer ops) into a DualFramework <see cref="Graph"/>. Untrusted input is checked
/// before anything large is allocated: file size, tensor element counts, external-data paths (must stay inside the model's
/// folder) and byte ranges. Inputs used as shapes, axes or other structural arguments ("shape inputs") make the model's
/// graph depend on their values; <see cref="ImportedModel"/> then builds one graph per distinct value set. See
/// <c>docs/onnx-import.md</c> for the supported ops.
/// </summary>
public static partial class OnnxImporter
{
    /// <summary>Lowest default-domain opset accepted (ops whose meaning changed before opset 7 are checked per op).</summary>
    public const int MinOpset = 1;

    /// <summary>Highest default-domain opset accepted.</summary>
    public const int MaxOpset = 17;

    /// <summary>Largest rank of any value the imported graph computes (the safetensors reader's limit too).</summary>
    public const int MaxRank = 64;

    /// <summary>Loads the model at <paramref name="path"/>; external data is resolved relative to its folder.</summary>
    /// <exception cref="OnnxImportException">The file is too large, malformed, or uses something unsupported.</exception>
    public static ImportedModel Load(string path, OnnxImportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new OnnxImportOptions();
        var info = new FileInfo(path);
        if (!info.Exists) throw new OnnxImportException($"ONNX model file '{path}' does not exist.");
        if (info.Length > options.MaxModelBytes)
            throw new OnnxImportException($"ONNX model file '{path}' has {info.Length} bytes, more than the limit of {options.MaxModelBytes}.");
        return FromBytes(File.ReadAllBytes(path), options, Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <summary>Imports a serialized model; external data (if any) is resolved relative to <paramref name="baseDirectory"/>
    /// and rejected when it is null.</summary>
    /// <exception cref="OnnxImportException">The bytes are too many, malformed, or use something unsupported.</exception>
    public static ImportedModel FromBytes(byte[] bytes, OnnxImportOptions? options = null, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        options ??= new OnnxImportOptions();
        if (bytes.Length > options.MaxModelBytes)
            throw new OnnxImportException($"The ONNX model has {bytes.Length} bytes, more than the limit of {options.MaxModelBytes}.");
        if (bytes.Length == 0) throw new OnnxImportException("The ONNX model is empty (0 bytes).");
        ModelProto model;
        try
        {
            model = ModelProto.Parser.WithDiscardUnknownFields(true).ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxImportException($"The data is not a valid ONNX model (protobuf parse error: {e.Message}).", e);
        }
        return FromModel(model, options, baseDirectory);
    }

    /// <summary>Imports a parsed model.</summary>
    /// <exception cref="OnnxImportException">The model is malformed or uses something unsupported.</exception>
    public static ImportedModel FromModel(ModelProto model, OnnxImportOptions? options = null, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new OnnxImportOptions();
        if (model.Graph == null) throw new OnnxImportException("The ONNX model has no graph (not an ONNX model, or truncated).");
        int opset = ReadOpset(model);
        var g = model.Graph;

        // Nodes that no graph output depends on (e.g. unused pooling indices) are skipped, unsupported or not.
        var needed = new HashSet<string>(g.Output.Select(o => o.Name), StringComparer.Ordinal);
        var live = new List<NodeProto>();
        for (int k = g.Node.Count - 1; k >= 0; k--)
        {
            var node = g.Node[k];
            if (!node.Output.Any(needed.Contains)) continue;
            live.Add(node);
            // Subgraph bodies read outer values by name: every name their nodes use counts as needed.
            foreach (var i in WithSubgraphNodes([node]).SelectMany(m => m.Input)) needed.Add(i);
        }
        live.Reverse();

        var unsupported = WithSubgraphNodes(live)
            .Select(Builder.MappingKey).Where(k => !Known.Contains(k)).Distinct().OrderBy(s => s, StringComparer.Ordinal).ToArray();
        if (unsupported.Length > 0) throw new OnnxImportException(unsupported);
        if (opset < 7) CheckLegacyOpset(live, opset);

        var inits = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in g.Initializer)
        {
            if (!inits.Add(t.Name)) throw new OnnxImportException($"Initializer '{t.Name}' is defined twice.");
        }
        var inputs = new List<(string Name, BoundaryType Type)>();
        foreach (var i in g.Input)
        {
            if (inits.Contains(i.Name)) continue; // IR < 4 models list initializers as inputs too
            inputs.Add((i.Name, InputType(i, options)));
        }
        // Running statistics of BatchNormalization nodes are buffers (never trainable).
        var runningStats = new HashSet<string>(live.Where(n => n.OpType == "BatchNormalization").SelectMany(n => n.Input.Skip(3).Take(2)), StringComparer.Ordinal);
        var constants = new List<(string Name, TensorSpec Spec, byte[] Data)>();
        var state = new List<(string Name, TensorSpec Spec, byte[] Data)>();
        foreach (var t in g.Initializer)
        {
            if (!needed.Contains(t.Name)) continue; // only dead nodes use it
            var (spec, data) = TensorData.Read(t, options, baseDirectory);
            if (!options.InitializersAsConstants && spec.DType.IsFloating()) state.Add((t.Name, spec, data));
            else constants.Add((t.Name, spec, data));
        }
        var inputNames = inputs.Select(i => i.Name).ToArray();
        var outputNames = g.Output.Select(o => o.Name).ToArray();
        while (true)
        {
            var plan = new ImportPlan(options, opset, live, needed, inputs, constants, state.Select(p => (p.Name, p.Spec)).ToList(), outputNames);
            BuildResult probe;
            try
            {
                probe = plan.Build(null);
            }
            catch (InitializerNeededException e)
            {
                // A float initializer used as a shape, ratio or bound: it stays a constant (and out of the state dict).
                int k = state.FindIndex(p => p.Name == e.Initializer);
                constants.Add(state[k]);
                state.RemoveAt(k);
                continue;
            }
            var backend = options.Backend ?? BackendRegistry.Default;
            var variables = state.Select(p => (p.Name, new Variable(Tensor.FromBytes(p.Data, p.Spec, backend).DetachFromScope(),
                trainable: !runningStats.Contains(p.Name)))).ToArray();
            // A static graph's outputs tell their types (declared ones may be missing); else the declarations do.
            var outputTypes = probe.Graph != null ? StaticOutputTypes(probe, g, options) : g.Output.Select(o => DeclaredType(o, "Output", options)).ToArray();
            // A graph that depends on the values of shape inputs (or on the structure of sequence and optional inputs) is
            // built per value set when the model runs.
            var imported = new ImportedModel(plan, probe, inputs.Select(i => i.Type).ToArray(), inputNames, outputNames, outputTypes, variables, opset, options);
            if (options.Trainable is { } trainable) imported.Freeze(n => !trainable(n));
            return imported;
        }
    }

    /// <summary>The ONNX op types the importer maps.</summary>
    public static IReadOnlyCollection<string> SupportedOps => Known;

    private static int ReadOpset(ModelProto model)
    {
        int? opset = null;
        bool training = false;
        foreach (var o in model.OpsetImport)
        {
            if (IsDefaultDomain(o.Domain))
            {
                if (o.Version is < MinOpset or > MaxOpset)
                    throw new OnnxImportException($"The model imports default-domain opset {o.Version}; only opsets {MinOpset} to {MaxOpset} are supported.");
                opset = (int)o.Version;
            }
            else if (o.Domain == TrainingDomain && o.Version == 1) training = true;
            else throw new OnnxImportException($"The model imports opset domain '{o.Domain}' (version {o.Version}); only the default ONNX domain (and {TrainingDomain} version 1) is supported.");
        }
        // A model of training-domain nodes only may omit the default domain; its nodes are then checked by domain.
        if (opset == null && training && model.Graph?.Node.All(n => !IsDefaultDomain(n.Domain)) == true) return MaxOpset;
        return opset ?? throw new OnnxImportException("The model declares no default-domain opset import.");
    }

    private static bool IsDefaultDomain(string domain) => string.IsNullOrEmpty(domain) || domain == "ai.onnx";

    /// <summary>The declared type of a model input or output: its kind, the kind an optional holds (else
    /// <see cref="OnnxValueKind.Tensor"/>), and the spec of its tensor (a sequence's element's: dims as declared, none when
    /// undeclared).</summary>
    /// <param name="Kind">Tensor, sequence or optional.</param>
    /// <param name="Inner">The kind an optional holds (else tensor).</param>
    /// <param name="Spec">The spec of its tensor (a sequence's element's).</param>
    /// <param name="DimNames">For a tensor input: per axis, the symbol an open dim stands for (its <c>dim_param</c>, or
    /// <c>input.axis</c> when unnamed); null for a fixed dim.</param>
    internal sealed record BoundaryType(OnnxValueKind Kind, OnnxValueKind Inner, TensorSpec Spec, IReadOnlyList<string?>? DimNames = null);

    private static BoundaryType InputType(ValueInfoProto i, OnnxImportOptions options) =>
        i.Type?.ValueCase == TypeProto.ValueOneofCase.TensorType ? new(OnnxValueKind.Tensor, OnnxValueKind.Tensor, InputSpec(i, options), DimNames(i))
        : DeclaredType(i, "Input", options);

    // The symbols of an input's open dims; characters a symbol name cannot hold become '_'.
    private static string?[] DimNames(ValueInfoProto i)
    {
        static string Clean(string s) => string.Concat(s.Select(ch => char.IsLetterOrDigit(ch) || ch is '_' or '.' or '/' or ':' or '-' ? ch : '_'));
        return i.Type.TensorType.Shape?.Dim.Select((d, a) => d.ValueCase switch
        {
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => null,
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam when d.DimParam.Length > 0 => Clean(d.DimParam),
            _ => Clean($"{i.Name}.{a}"),
        }).ToArray() ?? [];
    }

    private static TensorSpec InputSpec(ValueInfoProto i, OnnxImportOptions options)
    {
        var tt = i.Type.TensorType;
        var dtype = TensorData.DTypeOf(tt.ElemType, $"input '{i.Name}'");
        if (tt.Shape == null) throw new OnnxImportException($"Input '{i.Name}' has no shape; the importer needs static shapes.");
        var dims = tt.Shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : options.SymbolicDimSize).ToArray();
        TensorData.CheckDims(dims, options, $"input '{i.Name}'");
        return new TensorSpec(new Shape(dims), dtype);
    }

    /// <summary>A type as the model declares it (a tensor, a sequence of tensors, or an optional of either); open dims are
    /// shown as <see cref="OnnxImportOptions.SymbolicDimSize"/>.</summary>
    private static BoundaryType DeclaredType(ValueInfoProto v, string what, OnnxImportOptions options)
    {
        var t = v.Type;
        var bad = new OnnxImportException($"{what} '{v.Name}' is not a tensor, a sequence of tensors or an optional of either (or has no type).");
        TensorSpec Spec(TypeProto? e)
        {
            var tt = e?.TensorType ?? throw bad;
            var dtype = TensorData.DTypeOf(tt.ElemType, $"{what.ToLowerInvariant()} '{v.Name}'");
            var dims = tt.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? Math.Max(0, d.DimValue) : options.SymbolicDimSize).ToArray() ?? [];
            return new TensorSpec(new Shape(dims), dtype);
        }
        return t?.ValueCase switch
        {
            TypeProto.ValueOneofCase.TensorType => new(OnnxValueKind.Tensor, OnnxValueKind.Tensor, Spec(t)),
            TypeProto.ValueOneofCase.SequenceType => new(OnnxValueKind.Sequence, OnnxValueKind.Tensor, Spec(t.SequenceType.ElemType)),
            TypeProto.ValueOneofCase.OptionalType => t.OptionalType.ElemType?.ValueCase switch
            {
                TypeProto.ValueOneofCase.TensorType => new(OnnxValueKind.Optional, OnnxValueKind.Tensor, Spec(t.OptionalType.ElemType)),
                TypeProto.ValueOneofCase.SequenceType => new(OnnxValueKind.Optional, OnnxValueKind.Sequence, Spec(t.OptionalType.ElemType.SequenceType.ElemType)),
                _ => throw bad,
            },
            _ => throw bad,
        };
    }

    // "a tensor", "a sequence", "an optional".
    private static string A(OnnxValueKind k) => (k == OnnxValueKind.Optional ? "an " : "a ") + k.ToString().ToLowerInvariant();

    // A static graph's output types: tensors from the graph; sequences and optionals with their declared element spec.
    private static BoundaryType[] StaticOutputTypes(BuildResult probe, GraphProto g, OnnxImportOptions options)
    {
        var types = new BoundaryType[g.Output.Count];
        int flat = 0;
        for (int k = 0; k < types.Length; k++)
        {
            var layout = probe.OutputLayouts![k];
            if (layout.Kind == OnnxValueKind.Tensor) types[k] = new(OnnxValueKind.Tensor, OnnxValueKind.Tensor, probe.Graph!.Outputs[flat].Spec);
            else
            {
                var declared = DeclaredType(g.Output[k], "Output", options);
                if (declared.Kind != layout.Kind)
                    throw new OnnxImportException($"Output '{g.Output[k].Name}' is declared {A(declared.Kind)}, but the model computes {A(layout.Kind)}.");
                types[k] = declared;
            }
            flat += layout.Count;
        }
        return types;
    }
}
