using DualFramework.Onnx.Proto;
using Google.Protobuf;

namespace DualFramework.Quantization.Qat;

// The post-export rewrite of Qat.Convert. Export folds each fake-quantized weight into a float32 constant (its inputs are
// all constants), whose values are exactly scale·q. The rewrite finds that initializer by content, replaces it by the int8
// q and the per-channel scales, and gives its name to a DequantizeLinear that recomputes the same float32 values
// ((q − 0)·scale, one rounding, as the fold did), so consumers and results are unchanged and the file stores 1 byte per
// weight. Matching by content rather than by position keeps the rewrite independent of node names and passes.
internal static class QdqWeights
{
    /// <summary>One prepared weight: its variable name and spec, the fake-quantized float32 bytes (the folded initializer),
    /// the int8 values and the float32 per-channel scales.</summary>
    public sealed record Entry(string Name, TensorSpec Spec, byte[] Folded, byte[] Quantized, byte[] Scale);

    private const int OnnxFloat = (int)TensorProto.Types.DataType.Float;

    public static void Rewrite(GraphProto g, IReadOnlyList<Entry> weights)
    {
        var names = new HashSet<string>(g.Initializer.Select(t => t.Name).Concat(g.Node.SelectMany(n => n.Output)).Concat(g.Input.Select(i => i.Name)), StringComparer.Ordinal);
        var head = new List<NodeProto>();
        foreach (var w in weights)
        {
            var dims = w.Spec.Shape.ToArray();
            var init = g.Initializer.FirstOrDefault(t => t.DataType == OnnxFloat && t.HasRawData && t.Dims.SequenceEqual(dims) && t.RawData.Span.SequenceEqual(w.Folded))
                ?? throw new QuantizationException($"Qat.Convert: the fake-quantized weight '{w.Name}' {w.Spec} is not among the exported initializers (a graph pass transformed it).");
            g.Initializer.Remove(init);
            var q = Fresh(names, w.Name + "_quantized");
            var s = Fresh(names, w.Name + "_scale");
            var z = Fresh(names, w.Name + "_zero_point");
            g.Initializer.Add(Initializer(q, TensorProto.Types.DataType.Int8, dims, w.Quantized));
            g.Initializer.Add(Initializer(s, TensorProto.Types.DataType.Float, [dims[0]], w.Scale));
            g.Initializer.Add(Initializer(z, TensorProto.Types.DataType.Int8, [dims[0]], new byte[dims[0]]));
            var node = new NodeProto { OpType = "DequantizeLinear", Name = Fresh(names, "DequantizeLinear_" + w.Name) };
            node.Input.Add(q);
            node.Input.Add(s);
            node.Input.Add(z);
            node.Output.Add(init.Name);
            node.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
            head.Add(node);
        }
        // Dequantizations first keeps the node list topologically sorted (their inputs are initializers).
        for (int i = 0; i < head.Count; i++) g.Node.Insert(i, head[i]);
    }

    private static TensorProto Initializer(string name, TensorProto.Types.DataType type, long[] dims, byte[] data)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(data) };
        t.Dims.AddRange(dims);
        return t;
    }

    private static string Fresh(HashSet<string> names, string name)
    {
        var n = name;
        for (int k = 1; !names.Add(n); k++) n = $"{name}_{k}";
        return n;
    }
}
