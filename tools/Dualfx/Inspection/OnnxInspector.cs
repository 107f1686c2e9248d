using System.Globalization;
using DualFramework.Onnx.Proto;
using Google.Protobuf;

namespace DualFramework.Tools.Dualfx.Inspection;

/// <summary>Summarises an ONNX file straight from its protobuf (no import, no session), so even large models take
/// well under a second.</summary>
internal static class OnnxInspector
{
    public static ModelProto Read(string path)
    {
        using var stream = new BufferedStream(File.OpenRead(path), 1 << 20);
        try
        {
            return ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new UserErrorException($"'{path}' is not a valid ONNX model: {e.Message}");
        }
    }

    public static ModelSummary Inspect(string path)
    {
        var model = Read(path);
        var g = model.Graph ?? new GraphProto();
        var initializers = g.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        long parameters = 0, bytes = 0;
        foreach (var t in g.Initializer)
        {
            parameters += Elements(t.Dims);
            bytes += DataBytes(t);
        }
        var ops = g.Node.GroupBy(n => string.IsNullOrEmpty(n.Domain) || n.Domain == "ai.onnx" ? n.OpType : $"{n.Domain}.{n.OpType}")
            .OrderByDescending(x => x.Count()).ThenBy(x => x.Key, StringComparer.Ordinal)
            .ToDictionary(x => x.Key, x => x.Count());
        var external = g.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External)
            .Select(t => t.ExternalData.FirstOrDefault(e => e.Key == "location")?.Value).OfType<string>().Distinct().ToList();
        var facts = new List<(string, string)>
        {
            ("file", path),
            ("format", "ONNX"),
            ("file size", ModelSummary.Bytes(new FileInfo(path).Length)),
            ("ir version", model.IrVersion.ToString(CultureInfo.InvariantCulture)),
            ("opsets", string.Join(", ", model.OpsetImport.Select(o => $"{(o.Domain.Length == 0 ? "ai.onnx" : o.Domain)} {o.Version}"))),
            ("producer", $"{model.ProducerName} {model.ProducerVersion}".Trim()),
            ("graph", g.Name),
            ("nodes", ModelSummary.Count(g.Node.Count)),
            ("initializers", ModelSummary.Count(g.Initializer.Count)),
            ("parameters", ModelSummary.Count(parameters)),
            ("parameter bytes", ModelSummary.Bytes(bytes)),
        };
        if (external.Count > 0) facts.Add(("external data", string.Join(", ", external)));
        if (model.ModelVersion != 0) facts.Add(("model version", model.ModelVersion.ToString(CultureInfo.InvariantCulture)));
        if (model.Domain.Length > 0) facts.Add(("domain", model.Domain));
        if (model.DocString.Length > 0) facts.Add(("doc", model.DocString.ReplaceLineEndings(" ").Trim()));

        // Before IR 4 every initializer was listed among the inputs too; those are weights, not inputs.
        var inputs = g.Input.Where(i => !initializers.ContainsKey(i.Name)).Select(v => (IReadOnlyList<string>)[v.Name, .. TypeOf(v)]).ToList();
        var outputs = g.Output.Select(v => (IReadOnlyList<string>)[v.Name, .. TypeOf(v)]).ToList();
        var opRows = ops.Select(o => (IReadOnlyList<string>)[o.Key, o.Value.ToString(CultureInfo.InvariantCulture)]).ToList();
        var dtypes = g.Initializer.GroupBy(t => ((TensorProto.Types.DataType)t.DataType).ToString().ToLowerInvariant())
            .Select(x => (IReadOnlyList<string>)[x.Key, ModelSummary.Count(x.Count()), ModelSummary.Count(x.Sum(t => Elements(t.Dims))), ModelSummary.Bytes(x.Sum(DataBytes))]).ToList();
        var metadata = model.MetadataProps.Select(p => (IReadOnlyList<string>)[p.Key, p.Value]).ToList();
        return new ModelSummary(facts,
        [
            new SummaryTable("inputs", ["name", "type", "shape"], inputs),
            new SummaryTable("outputs", ["name", "type", "shape"], outputs),
            new SummaryTable("ops", ["op", "count"], opRows),
            new SummaryTable("parameters by type", ["dtype", "tensors", "values", "bytes"], dtypes),
            new SummaryTable("metadata", ["key", "value"], metadata),
        ])
        { ParameterCount = parameters, ParameterBytes = bytes, OpCounts = ops };
    }

    public static long Elements(IEnumerable<long> dims) => dims.Aggregate(1L, (a, d) => a * d);

    private static string[] TypeOf(ValueInfoProto v)
    {
        if (v.Type?.TensorType is not { } t) return [v.Type?.ValueCase.ToString() ?? "?", ""];
        var shape = t.Shape == null ? "?" : "[" + string.Join(", ", t.Shape.Dim.Select(d =>
            d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue.ToString(CultureInfo.InvariantCulture)
            : d.DimParam.Length > 0 ? d.DimParam : "?")) + "]";
        return [((TensorProto.Types.DataType)t.ElemType).ToString().ToLowerInvariant(), shape];
    }

    // Stored size of an initializer's data, wherever it lives (raw bytes, typed fields, external file).
    private static long DataBytes(TensorProto t)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
        {
            var length = t.ExternalData.FirstOrDefault(e => e.Key == "length")?.Value;
            return length != null && long.TryParse(length, CultureInfo.InvariantCulture, out var n) ? n : Elements(t.Dims) * ElementSize(t.DataType);
        }
        if (!t.RawData.IsEmpty) return t.RawData.Length;
        return Elements(t.Dims) * ElementSize(t.DataType);
    }

    private static int ElementSize(int type) => (TensorProto.Types.DataType)type switch
    {
        TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Uint64 => 8,
        TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Uint32 => 4,
        TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16 or TensorProto.Types.DataType.Int16 or TensorProto.Types.DataType.Uint16 => 2,
        _ => 1,
    };
}
