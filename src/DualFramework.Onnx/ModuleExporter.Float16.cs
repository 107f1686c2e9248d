using System.Buffers.Binary;
using DualFramework.Onnx.Proto;
using Google.Protobuf;

namespace DualFramework.Onnx;

// Half-precision storage (ModuleExportOptions.WeightsDType, InputOutputDType): rewrites of the lowered model that keep
// the compute in float32 and change only what is stored or exchanged. See docs/precision.md ("Float16 export").
public static partial class ModuleExporter
{
    /// <summary>
    /// Smallest float32 initializer, in elements, that <see cref="ModuleExportOptions.WeightsDType"/> stores as float16.
    /// Below it the added <c>Cast</c> node (about 60 bytes) costs about as much as halving saves, and such initializers
    /// are mostly the scalars and short vectors that lowerings need in float32 (epsilons, fill values, small biases).
    /// </summary>
    public const int Float16MinElements = 64;

    private const int OnnxFloat = (int)TensorProto.Types.DataType.Float;
    private const int OnnxFloat16 = (int)TensorProto.Types.DataType.Float16;

    private static void CheckHalfOptions(ModuleExportOptions o)
    {
        if (o.WeightsDType is { } w && w != DType.Float16)
            throw new ArgumentOutOfRangeException(nameof(o), w, "WeightsDType must be null (as traced) or DType.Float16.");
        if (o.InputOutputDType is { } io && io != DType.Float16)
            throw new ArgumentOutOfRangeException(nameof(o), io, "InputOutputDType must be null (as traced) or DType.Float16.");
    }

    /// <summary>Stores large float32 initializers as FLOAT16, each read through a Cast to float32 under a fresh name.</summary>
    private static void StoreWeightsAsFloat16(GraphProto g)
    {
        var names = AllNames(g);
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        var casts = new List<NodeProto>();
        foreach (var t in g.Initializer)
        {
            // The exporter writes every initializer as raw data; anything else is left alone.
            if (t.DataType != OnnxFloat || !t.HasRawData || t.RawData.Length / 4 < Float16MinElements) continue;
            if (ToFloat16(t.RawData.Span) is not { } half) continue;
            t.DataType = OnnxFloat16;
            t.RawData = ByteString.CopyFrom(half);
            // The initializer keeps its dotted name (tools list the stored weights by it); consumers read the cast.
            var f32 = Fresh(names, t.Name + "_float32");
            renamed[t.Name] = f32;
            casts.Add(CastNode(t.Name, f32, OnnxFloat, Fresh(names, "Cast_" + t.Name)));
        }
        foreach (var n in g.Node)
            for (int k = 0; k < n.Input.Count; k++)
                if (renamed.TryGetValue(n.Input[k], out var to)) n.Input[k] = to;
        // Casts first keeps the node list topologically sorted, as ONNX requires.
        for (int i = 0; i < casts.Count; i++) g.Node.Insert(i, casts[i]);
    }

    /// <summary>Declares float32 graph inputs and outputs FLOAT16, casting them to and from float32 at the graph's edges.</summary>
    private static void UseFloat16InputsAndOutputs(GraphProto g)
    {
        var names = AllNames(g);
        var head = new List<NodeProto>();
        foreach (var input in g.Input.Where(i => i.Type.TensorType.ElemType == OnnxFloat))
        {
            var f32 = Fresh(names, input.Name + "_float32");
            foreach (var n in g.Node)
                for (int k = 0; k < n.Input.Count; k++)
                    if (n.Input[k] == input.Name) n.Input[k] = f32;
            input.Type.TensorType.ElemType = OnnxFloat16;
            head.Add(CastNode(input.Name, f32, OnnxFloat, Fresh(names, "Cast_" + input.Name)));
        }
        foreach (var output in g.Output.Where(o => o.Type.TensorType.ElemType == OnnxFloat))
        {
            // The float32 value is renamed everywhere (an output may also feed other nodes); the public name goes to the cast.
            var f32 = Fresh(names, output.Name + "_float32");
            foreach (var n in g.Node)
            {
                for (int k = 0; k < n.Input.Count; k++) if (n.Input[k] == output.Name) n.Input[k] = f32;
                for (int k = 0; k < n.Output.Count; k++) if (n.Output[k] == output.Name) n.Output[k] = f32;
            }
            g.Node.Add(CastNode(f32, output.Name, OnnxFloat16, Fresh(names, "Cast_" + output.Name)));
            output.Type.TensorType.ElemType = OnnxFloat16;
        }
        for (int i = 0; i < head.Count; i++) g.Node.Insert(i, head[i]);
    }

    /// <summary>
    /// The float16 bytes of the float32 values in <paramref name="raw"/> (round to nearest even), or null when a finite
    /// value would become infinite: that initializer then stays float32, so no weight changes by more than rounding.
    /// </summary>
    internal static byte[]? ToFloat16(ReadOnlySpan<byte> raw)
    {
        int count = raw.Length / 4;
        var result = new byte[count * 2];
        for (int i = 0; i < count; i++)
        {
            float x = BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]);
            var h = (Half)x;
            if (Half.IsInfinity(h) && float.IsFinite(x)) return null;
            BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(2 * i), BitConverter.HalfToUInt16Bits(h));
        }
        return result;
    }

    private static NodeProto CastNode(string input, string output, int to, string name)
    {
        var n = new NodeProto { OpType = "Cast", Name = name };
        n.Input.Add(input);
        n.Output.Add(output);
        n.Attribute.Add(OnnxAttr.Int("to", to));
        return n;
    }

    private static HashSet<string> AllNames(GraphProto g) => new(
        g.Input.Select(i => i.Name).Concat(g.Output.Select(o => o.Name)).Concat(g.Initializer.Select(t => t.Name))
            .Concat(g.Node.SelectMany(n => n.Output)).Concat(g.Node.Select(n => n.Name)),
        StringComparer.Ordinal);

    private static string Fresh(HashSet<string> names, string hint)
    {
        if (names.Add(hint)) return hint;
        for (int k = 1; ; k++)
            if (names.Add($"{hint}_{k}")) return $"{hint}_{k}";
    }
}
