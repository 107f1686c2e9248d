using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using Google.Protobuf;

namespace DualFramework.Fuzz.Mutators;

/// <summary>
/// Field-level mutations of a parsed ONNX model (the project's generated <see cref="ModelProto"/>): opsets, op types,
/// node inputs and outputs, attributes, graph inputs and outputs, initializers (see <see cref="OnnxTensorMutator"/>),
/// duplicate names, deeply nested subgraphs and very long node chains. The model is re-serialized afterwards.
/// </summary>
public static class OnnxMutator
{
    private static readonly string[] AttributeNames =
        ["axis", "axes", "kernel_shape", "pads", "strides", "dilations", "group", "perm", "shape", "keepdims", "epsilon", "to",
         "mode", "alpha", "beta", "transA", "transB", "allowzero", "auto_pad", "ceil_mode", "count_include_pad", "value", "split",
         "starts", "ends", "momentum", "training_mode", "output_shape", "output_padding", "blocksize", "storage_order", "exclusive",
         "reverse", "largest", "sorted", "k", "direction", "coordinate_transformation_mode", "seed", "dtype", "size", "scales"];

    private static readonly long[] Ints = [0, 1, -1, 2, 3, 4, -2, 7, 64, 1 << 16, 1 << 30, int.MaxValue, long.MaxValue, long.MinValue];

    /// <summary>One random mutation of <paramref name="m"/>, in place. <paramref name="inputData"/> holds the test
    /// inputs of the seed (used to turn graph inputs into initializers).</summary>
    public static void Mutate(Random rng, ModelProto m, IReadOnlyList<TensorProto> inputData)
    {
        var g = m.Graph ??= new GraphProto();
        var node = g.Node.Count > 0 ? g.Node[rng.Next(g.Node.Count)] : null;
        var names = g.Input.Select(i => i.Name).Concat(g.Node.SelectMany(n => n.Output)).Concat(g.Initializer.Select(i => i.Name)).ToList();
        string AnyName() => rng.Next(5) == 0 ? "no_such_value" : names.Count > 0 ? names[rng.Next(names.Count)] : "";
        switch (rng.Next(17))
        {
            case 0: // opset version or domain
                if (m.OpsetImport.Count == 0 || rng.Next(5) == 0) m.OpsetImport.Add(new OperatorSetIdProto { Version = rng.Next(1, 19) });
                else
                {
                    var o = m.OpsetImport[rng.Next(m.OpsetImport.Count)];
                    if (rng.Next(3) == 0) o.Domain = new[] { "ai.onnx.ml", "com.microsoft", "ai.onnx", "" }[rng.Next(4)];
                    else o.Version = rng.Next(2) == 0 ? rng.Next(0, 20) : Ints[rng.Next(Ints.Length)];
                }
                break;
            case 1 when node != null: // another op type, with the inputs and attributes of this one
                node.OpType = rng.Next(10) == 0 ? "NoSuchOp" : OnnxImporter.SupportedOps.ElementAt(rng.Next(OnnxImporter.SupportedOps.Count));
                if (rng.Next(10) == 0) node.Domain = "com.example";
                break;
            case 2 when node != null: // inputs: drop, add, reorder, point at undefined or later values
                if (rng.Next(3) == 0 && node.Input.Count > 0) node.Input.RemoveAt(rng.Next(node.Input.Count));
                else if (rng.Next(2) == 0) node.Input.Insert(rng.Next(node.Input.Count + 1), rng.Next(4) == 0 ? "" : AnyName());
                else if (node.Input.Count > 0) node.Input[rng.Next(node.Input.Count)] = AnyName();
                break;
            case 3 when node != null: // outputs: duplicates, empty, another node's, none
                if (rng.Next(4) == 0) node.Output.Clear();
                else if (rng.Next(2) == 0) node.Output.Add(rng.Next(3) == 0 ? "" : AnyName());
                else if (node.Output.Count > 0) node.Output[rng.Next(node.Output.Count)] = AnyName();
                break;
            case 4 when node is { Attribute.Count: > 0 }:
                MutateAttribute(rng, node.Attribute[rng.Next(node.Attribute.Count)]);
                break;
            case 5 when node != null: // a new (or duplicate) attribute
                {
                    var a = new AttributeProto { Name = rng.Next(5) == 0 && node.Attribute.Count > 0 ? node.Attribute[0].Name : AttributeNames[rng.Next(AttributeNames.Length)] };
                    a.Type = (AttributeProto.Types.AttributeType)rng.Next(11);
                    MutateAttribute(rng, a);
                    node.Attribute.Add(a);
                }
                break;
            case 6 when g.Input.Count > 0: // a graph input's element type or shape
                MutateValueInfo(rng, g.Input[rng.Next(g.Input.Count)]);
                break;
            case 7 when g.Output.Count > 0:
                if (rng.Next(3) == 0) g.Output.RemoveAt(rng.Next(g.Output.Count));
                else if (rng.Next(2) == 0) g.Output.Add(g.Output[rng.Next(g.Output.Count)].Clone());
                else g.Output[rng.Next(g.Output.Count)].Name = AnyName();
                break;
            case 8:
            case 9: // initializers: real test inputs promoted, then one mutated
                if (g.Initializer.Count == 0 || rng.Next(3) == 0) Promote(rng, g, inputData);
                if (g.Initializer.Count > 0) OnnxTensorMutator.Mutate(rng, g.Initializer[rng.Next(g.Initializer.Count)]);
                break;
            case 10 when node != null: // a Constant's value
                {
                    var a = node.Attribute.FirstOrDefault(x => x.T != null);
                    if (a != null) OnnxTensorMutator.Mutate(rng, a.T);
                    else
                    {
                        var t = inputData.Count > 0 ? inputData[rng.Next(inputData.Count)].Clone() : new TensorProto { DataType = 1, Dims = { 1 }, FloatData = { 1f } };
                        g.Node.Insert(0, new NodeProto { OpType = "Constant", Output = { AnyName() }, Attribute = { new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = t } } });
                    }
                }
                break;
            case 11: // duplicate names
                if (g.Initializer.Count > 0 && rng.Next(2) == 0) g.Initializer.Add(g.Initializer[rng.Next(g.Initializer.Count)].Clone());
                else if (g.Input.Count > 0 && rng.Next(2) == 0) g.Input.Add(g.Input[rng.Next(g.Input.Count)].Clone());
                else if (node != null) g.Node.Add(node.Clone());
                break;
            case 12: // deeply nested subgraphs (the protobuf parser's recursion limit)
                g.Node.Add(Nested(new[] { 2, 10, 30, 33, 34, 60, 200, 2000 }[rng.Next(8)], names.LastOrDefault() ?? "x"));
                break;
            case 13 when node is { Input.Count: > 0, Output.Count: > 0 }: // a long chain of copies of one node
                {
                    int k = new[] { 10, 200, 3000 }[rng.Next(3)];
                    string prev = node.Output[0];
                    for (int i = 0; i < k; i++)
                    {
                        var c = node.Clone();
                        c.Input[0] = prev;
                        c.Output.Clear();
                        c.Output.Add(prev = $"chain_{i}");
                        g.Node.Add(c);
                    }
                    if (g.Output.Count > 0) g.Output[0].Name = prev;
                }
                break;
            case 14 when g.Node.Count > 1: // order: swapped or removed nodes
                {
                    int a = rng.Next(g.Node.Count), b = rng.Next(g.Node.Count);
                    if (rng.Next(3) == 0) g.Node.RemoveAt(a);
                    else (g.Node[a], g.Node[b]) = (g.Node[b], g.Node[a]);
                }
                break;
            case 15:
                m.IrVersion = Ints[rng.Next(Ints.Length)];
                if (rng.Next(2) == 0) m.Graph = rng.Next(2) == 0 ? null : new GraphProto();
                break;
            default: // very long repeated fields
                if (node != null)
                    node.Attribute.Add(new AttributeProto { Name = AttributeNames[rng.Next(AttributeNames.Length)], Type = AttributeProto.Types.AttributeType.Ints, Ints = { Enumerable.Repeat(1L, 1 + rng.Next(100_000)) } });
                break;
        }
    }

    private static void MutateAttribute(Random rng, AttributeProto a)
    {
        switch (rng.Next(8))
        {
            case 0: a.I = Ints[rng.Next(Ints.Length)]; break;
            case 1:
                if (a.Ints.Count > 0 && rng.Next(2) == 0) a.Ints[rng.Next(a.Ints.Count)] = Ints[rng.Next(Ints.Length)];
                else if (a.Ints.Count > 0 && rng.Next(2) == 0) a.Ints.RemoveAt(rng.Next(a.Ints.Count));
                else a.Ints.Add(Ints[rng.Next(Ints.Length)]);
                break;
            case 2: a.F = new[] { float.NaN, float.PositiveInfinity, -1f, 0f, 1e30f, float.Epsilon }[rng.Next(6)]; break;
            case 3:
                if (a.Floats.Count > 0) a.Floats[rng.Next(a.Floats.Count)] = float.NaN;
                else a.Floats.Add(new[] { -1f, 0f, 2f }[rng.Next(3)]);
                break;
            case 4: a.S = ByteString.CopyFromUtf8(new[] { "", "SAME_UPPER", "VALID", "NOTSET", "nearest", "linear", "cubic", "bogus", "\u00ff" }[rng.Next(9)]); break;
            case 5: a.Type = (AttributeProto.Types.AttributeType)rng.Next(-1, 12); break;
            case 6:
                a.T = new TensorProto { DataType = rng.Next(17), Dims = { rng.Next(4) }, RawData = ByteString.CopyFrom(new byte[rng.Next(33)]) };
                break;
            default: a.Ints.Clear(); a.Floats.Clear(); break;
        }
    }

    private static void MutateValueInfo(Random rng, ValueInfoProto v)
    {
        if (rng.Next(8) == 0)
        {
            v.Type = rng.Next(2) == 0 ? null : new TypeProto();
            return;
        }
        var tt = (v.Type ??= new TypeProto()).TensorType ??= new TypeProto.Types.Tensor();
        var dims = (tt.Shape ??= new TensorShapeProto()).Dim;
        switch (rng.Next(5))
        {
            case 0: tt.ElemType = rng.Next(4) == 0 ? new[] { -1, 0, 17, 1000 }[rng.Next(4)] : rng.Next(17); break;
            case 1 when dims.Count > 0: dims[rng.Next(dims.Count)].DimValue = OnnxTensorMutator.Dims[rng.Next(OnnxTensorMutator.Dims.Length)]; break;
            case 2 when dims.Count > 0: dims[rng.Next(dims.Count)].DimParam = rng.Next(2) == 0 ? "N" : ""; break;
            case 3: dims.Add(new TensorShapeProto.Types.Dimension { DimValue = rng.Next(2) == 0 ? 1 : OnnxTensorMutator.Dims[rng.Next(OnnxTensorMutator.Dims.Length)] }); break;
            default:
                if (dims.Count > 0) dims.RemoveAt(rng.Next(dims.Count));
                else tt.Shape = null;
                break;
        }
    }

    // Turns graph inputs into initializers holding the seed's real test data (kept or dropped as graph inputs, as IR < 4
    // and IR >= 4 models do), so shape, axes and other structural inputs become constants the importer folds.
    private static void Promote(Random rng, GraphProto g, IReadOnlyList<TensorProto> inputData)
    {
        bool keepInputs = rng.Next(2) == 0;
        for (int i = 0; i < Math.Min(g.Input.Count, inputData.Count); i++)
        {
            if (rng.Next(2) == 0 || g.Initializer.Any(t => t.Name == g.Input[i].Name)) continue;
            var t = inputData[i].Clone();
            t.Name = g.Input[i].Name;
            g.Initializer.Add(t);
        }
        if (!keepInputs)
            for (int i = g.Input.Count - 1; i >= 0; i--)
                if (g.Initializer.Any(t => t.Name == g.Input[i].Name)) g.Input.RemoveAt(i);
    }

    // A node whose attribute holds a graph whose node holds a graph ... depth levels down.
    private static NodeProto Nested(int depth, string input)
    {
        NodeProto inner = new() { OpType = "Identity", Input = { input }, Output = { "nested_out" } };
        for (int i = 0; i < depth; i++)
        {
            var graph = new GraphProto { Name = $"g{i}", Node = { inner }, Output = { new ValueInfoProto { Name = "nested_out" } } };
            inner = new NodeProto { OpType = "If", Input = { input }, Output = { $"nested_{i}" }, Attribute = { new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = graph } } };
        }
        return inner;
    }
}
