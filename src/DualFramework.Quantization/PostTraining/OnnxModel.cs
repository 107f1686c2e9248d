using System.Runtime.InteropServices;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using Google.Protobuf;
using DataType = DualFramework.Onnx.Proto.TensorProto.Types.DataType;

namespace DualFramework.Quantization;

/// <summary>Reading and building the pieces of an ONNX model that the quantizers rewrite.</summary>
internal static class OnnxModel
{
    /// <summary>Loads <paramref name="path"/>, with initializers kept in external data read into the model.</summary>
    public static ModelProto Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new QuantizationException($"The model file '{path}' does not exist.");
        ModelProto m;
        using (var fs = File.OpenRead(path)) m = ModelProto.Parser.ParseFrom(fs);
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        foreach (var t in m.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External))
        {
            var (_, data) = OnnxImporter.TensorData.Read(t, new OnnxImportOptions(), dir);
            t.ExternalData.Clear();
            t.DataLocation = TensorProto.Types.DataLocation.Default;
            t.RawData = ByteString.CopyFrom(data);
        }
        return m;
    }

    /// <summary>The default-domain opset of <paramref name="m"/>.</summary>
    public static long Opset(ModelProto m) =>
        m.OpsetImport.Where(o => string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();

    /// <summary>The values of a float32 initializer (raw or typed storage).</summary>
    public static float[] Floats(TensorProto t)
    {
        if (t.DataType != (int)DataType.Float) throw new QuantizationException($"Initializer '{t.Name}' is {(DataType)t.DataType}, not FLOAT.");
        return t.RawData.IsEmpty ? t.FloatData.ToArray() : MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
    }

    /// <summary>A float32 tensor.</summary>
    public static TensorProto FloatTensor(string name, long[] dims, ReadOnlySpan<float> values) =>
        Raw(name, dims, DataType.Float, MemoryMarshal.AsBytes(values));

    /// <summary>An int8 (<paramref name="signed"/>) or uint8 tensor.</summary>
    public static TensorProto ByteTensor(string name, long[] dims, ReadOnlySpan<int> values, bool signed)
    {
        var bytes = new byte[values.Length];
        for (int i = 0; i < values.Length; i++) bytes[i] = unchecked((byte)values[i]);
        return Raw(name, dims, signed ? DataType.Int8 : DataType.Uint8, bytes);
    }

    /// <summary>An int32 tensor.</summary>
    public static TensorProto Int32Tensor(string name, long[] dims, ReadOnlySpan<int> values) =>
        Raw(name, dims, DataType.Int32, MemoryMarshal.AsBytes(values));

    private static TensorProto Raw(string name, long[] dims, DataType type, ReadOnlySpan<byte> bytes)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        t.Dims.AddRange(dims);
        return t;
    }

    /// <summary>A node.</summary>
    public static NodeProto Node(string op, string name, string[] inputs, string[] outputs, params AttributeProto[] attrs)
    {
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        n.Attribute.AddRange(attrs);
        return n;
    }

    /// <summary>An INT attribute.</summary>
    public static AttributeProto Int(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };

    /// <summary>The INT attribute <paramref name="name"/> of <paramref name="n"/>, or <paramref name="fallback"/>.</summary>
    public static long IntAttr(NodeProto n, string name, long fallback) =>
        n.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : fallback;

    /// <summary>The FLOAT attribute <paramref name="name"/> of <paramref name="n"/>, or <paramref name="fallback"/>.</summary>
    public static float FloatAttr(NodeProto n, string name, float fallback) =>
        n.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.F : fallback;

    /// <summary>Every name used in the graph (values, initializers, nodes), for picking fresh ones.</summary>
    public static HashSet<string> Names(GraphProto g) => new(
        g.Input.Select(i => i.Name).Concat(g.Output.Select(o => o.Name)).Concat(g.Initializer.Select(t => t.Name))
            .Concat(g.Node.SelectMany(n => n.Output)).Concat(g.Node.Select(n => n.Name)).Concat(g.ValueInfo.Select(v => v.Name)),
        StringComparer.Ordinal);

    /// <summary><paramref name="hint"/>, or <paramref name="hint"/>_k for the first k that is unused; the name is then taken.</summary>
    public static string Fresh(HashSet<string> names, string hint)
    {
        if (names.Add(hint)) return hint;
        for (int k = 1; ; k++)
            if (names.Add($"{hint}_{k}")) return $"{hint}_{k}";
    }

    /// <summary>Removes initializers that no node and no graph output reads any more (and, in models that also list
    /// initializers as graph inputs, those input entries).</summary>
    public static void DropUnusedInitializers(GraphProto g)
    {
        var used = new HashSet<string>(g.Node.SelectMany(n => n.Input).Concat(g.Output.Select(o => o.Name)), StringComparer.Ordinal);
        var removed = new HashSet<string>(StringComparer.Ordinal);
        for (int i = g.Initializer.Count - 1; i >= 0; i--)
            if (!used.Contains(g.Initializer[i].Name))
            {
                removed.Add(g.Initializer[i].Name);
                g.Initializer.RemoveAt(i);
            }
        for (int i = g.Input.Count - 1; i >= 0; i--)
            if (removed.Contains(g.Input[i].Name)) g.Input.RemoveAt(i);
    }

    /// <summary>Serialises <paramref name="m"/> to <paramref name="path"/>.</summary>
    public static void Save(ModelProto m, string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        using var fs = File.Create(path);
        m.WriteTo(fs);
    }
}
