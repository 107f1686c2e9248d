using DualFramework.IR;
using DualFramework.NN;
using DualFramework.Onnx.Proto;
using DualFramework.Operators;
using Google.Protobuf;

namespace DualFramework.Onnx;

/// <summary>
/// Imports ONNX models (default-domain opsets 7–17) into a DualFramework <see cref="Graph"/>. Untrusted input is checked
/// before anything large is allocated: file size, tensor element counts, external-data paths (must stay inside the model's
/// folder) and byte ranges. See <c>docs/onnx-import.md</c> for the supported ops.
/// </summary>
public static partial class OnnxImporter
{
    /// <summary>Lowest default-domain opset accepted.</summary>
    public const int MinOpset = 7;

    /// <summary>Highest default-domain opset accepted.</summary>
    public const int MaxOpset = 17;

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
            foreach (var i in node.Input) needed.Add(i);
        }
        live.Reverse();

        var unsupported = live
            .Select(n => string.IsNullOrEmpty(n.Domain) || n.Domain == "ai.onnx" ? (Known.Contains(n.OpType) ? null : n.OpType) : $"{n.Domain}.{n.OpType}")
            .Where(s => s != null).Select(s => s!).Distinct().OrderBy(s => s, StringComparer.Ordinal).ToArray();
        if (unsupported.Length > 0) throw new OnnxImportException(unsupported);

        var b = new Builder(options, opset, needed);
        var inits = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in g.Initializer)
        {
            if (!inits.Add(t.Name)) throw new OnnxImportException($"Initializer '{t.Name}' is defined twice.");
        }
        var inputNames = new List<string>();
        foreach (var i in g.Input)
        {
            if (inits.Contains(i.Name)) continue; // IR < 4 models list initializers as inputs too
            var spec = InputSpec(i, options);
            b.Values[i.Name] = b.Graph.AddInput(spec, i.Name);
            inputNames.Add(i.Name);
        }
        var parameters = new List<Variable>();
        var paramInits = new List<(string Name, TensorSpec Spec, byte[] Data)>();
        foreach (var t in g.Initializer)
        {
            if (!needed.Contains(t.Name)) continue; // only dead nodes use it
            var (spec, data) = TensorData.Read(t, options, baseDirectory);
            if (options.TrainableInitializers && spec.DType.IsFloating()) paramInits.Add((t.Name, spec, data));
            else b.Values[t.Name] = b.Graph.AddConstant(spec, data, t.Name);
            b.ConstData[t.Name] = (spec, data);
        }
        foreach (var (name, spec, data) in paramInits)
        {
            b.Values[name] = b.Graph.AddInput(spec, name);
            b.ConstData.Remove(name); // a trainable value is not a compile-time constant
            parameters.Add(new Variable(Tensor.FromBytes(data, spec).DetachFromScope(), true, name));
        }

        foreach (var n in live) b.Import(n);

        var outputNames = new List<string>();
        foreach (var o in g.Output)
        {
            b.Graph.AddOutput(b.Get(o.Name, "graph output"));
            outputNames.Add(o.Name);
        }
        try
        {
            b.Graph.Verify();
        }
        catch (InvalidOperationException e)
        {
            throw new OnnxImportException($"The imported graph is inconsistent: {e.Message}", e);
        }
        return new ImportedModel(b.Graph, inputNames.Count, inputNames.ToArray(), outputNames.ToArray(), parameters.ToArray(), opset, options.Backend);
    }

    /// <summary>The ONNX op types the importer maps.</summary>
    public static IReadOnlyCollection<string> SupportedOps => Known;

    private static int ReadOpset(ModelProto model)
    {
        int? opset = null;
        foreach (var o in model.OpsetImport)
        {
            if (string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx")
            {
                if (o.Version is < MinOpset or > MaxOpset)
                    throw new OnnxImportException($"The model imports default-domain opset {o.Version}; only opsets {MinOpset} to {MaxOpset} are supported.");
                opset = (int)o.Version;
            }
            else throw new OnnxImportException($"The model imports opset domain '{o.Domain}' (version {o.Version}); only the default ONNX domain is supported.");
        }
        return opset ?? throw new OnnxImportException("The model declares no default-domain opset import.");
    }

    private static TensorSpec InputSpec(ValueInfoProto i, OnnxImportOptions options)
    {
        var tt = i.Type?.TensorType ?? throw new OnnxImportException($"Input '{i.Name}' is not a tensor (or has no type).");
        var dtype = TensorData.DTypeOf(tt.ElemType, $"input '{i.Name}'");
        if (tt.Shape == null) throw new OnnxImportException($"Input '{i.Name}' has no shape; the importer needs static shapes.");
        var dims = tt.Shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : options.SymbolicDimSize).ToArray();
        TensorData.CheckDims(dims, options, $"input '{i.Name}'");
        return new TensorSpec(new Shape(dims), dtype);
    }
}
