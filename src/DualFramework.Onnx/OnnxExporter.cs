using System.Reflection;
using DualFramework.IR;
using DualFramework.Onnx.Proto;
using DualFramework.Operators;
using Google.Protobuf;

namespace DualFramework.Onnx;

/// <summary>
/// Lowers a DualFramework <see cref="Graph"/> to an ONNX model (ai.onnx opset 13–17, IR version 8): graph inputs become
/// ONNX inputs (symbolic <c>dim_param</c> for <see cref="Value.DynamicAxes"/>), constants become initializers (raw data),
/// each node is lowered through a per-op table (see <c>docs/onnx-lowering.md</c>), and the outputs are declared with
/// their specs. The model can be run by any ONNX runtime; this assembly does not reference one.
/// </summary>
public static class OnnxExporter
{
    /// <summary>The ONNX IR version written (IR 8 covers opsets up to 17).</summary>
    public const long IrVersion = 8;

    /// <summary>Lowers <paramref name="graph"/> to an ONNX <see cref="ModelProto"/>.</summary>
    /// <exception cref="OnnxExportException">Some nodes use ops without a lowering at the requested opset; every one is listed.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The requested opset is outside 13–17.</exception>
    public static ModelProto ToModel(Graph graph, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var model = Lower(graph, options);
        if (graph.IsSymbolic && graph.SamplePoints.Count > 1)
        {
            // Every size that depends on the symbols must be computed in the model: lowered at another sample size, the
            // model must come out the same. A lowering that built a constant or an attribute from the hint sizes differs.
            var other = Lower(SymbolicGraphs.AtPoint(graph, graph.SamplePoints[1]), options);
            if (!model.Graph.Node.Equals(other.Graph.Node) || !model.Graph.Initializer.Equals(other.Graph.Initializer))
            {
                int k = 0;
                while (k < model.Graph.Node.Count && k < other.Graph.Node.Count && model.Graph.Node[k].Equals(other.Graph.Node[k])) k++;
                var init = model.Graph.Initializer.Zip(other.Graph.Initializer).FirstOrDefault(p => !p.First.Equals(p.Second)).First;
                var user = init == null ? null : model.Graph.Node.FirstOrDefault(n => n.Input.Contains(init.Name));
                var where = k < model.Graph.Node.Count ? $"ONNX node {model.Graph.Node[k].Name} ({model.Graph.Node[k].OpType}, from {model.Graph.Node[k].DocString})"
                    : user != null ? $"initializer {init!.Name} of ONNX node {user.Name} ({user.OpType}, from {user.DocString})" : "an initializer";
                throw new NotSupportedException($"The ONNX lowering of this graph with symbolic dims depends on the sizes at {where}: " +
                    "the lowering of that op builds constants or attributes from static sizes.");
            }
        }
        return model;
    }

    private static ModelProto Lower(Graph graph, OnnxExportOptions? options)
    {
        options ??= new OnnxExportOptions();
        int opset = options.Opset;
        if (opset is < OnnxExportOptions.MinOpset or > OnnxExportOptions.MaxOpset)
            throw new ArgumentOutOfRangeException(nameof(options), opset, $"ONNX export supports opsets {OnnxExportOptions.MinOpset} to {OnnxExportOptions.MaxOpset}.");

        // Check every node first so that the error names all unsupported ops at once.
        var unsupported = new List<UnsupportedNode>();
        foreach (var n in graph.Nodes)
            if (Lowerings.Reason(n.Op, opset) is { } reason) unsupported.Add(new UnsupportedNode(n.Op.Name, n.LayerPath, reason));
        if (unsupported.Count > 0) throw new OnnxExportException(unsupported, opset);

        var g = new GraphProto { Name = options.GraphName ?? "main" };
        var names = new HashSet<string>(StringComparer.Ordinal);
        var valueNames = new Dictionary<Value, string>();
        var ctx = new LoweringContext(g, opset, names, valueNames)
        {
            UsedValues = new HashSet<Value>(graph.Nodes.SelectMany(n => n.Inputs).Concat(graph.Outputs), ReferenceEqualityComparer.Instance),
            IrGraph = graph,
        };

        foreach (var v in graph.Inputs)
        {
            var name = ctx.Unique(v.Name);
            valueNames[v] = name;
            g.Input.Add(ValueInfo(name, v.Spec, v, options, false));
        }
        foreach (var c in graph.Constants)
        {
            var name = ctx.Unique(c.Name);
            valueNames[c] = name;
            g.Initializer.Add(LoweringContext.Tensor(name, c.Spec.DType, c.Spec.Shape.ToArray(), c.ConstantData!));
        }
        foreach (var n in graph.Nodes)
        {
            foreach (var i in n.Inputs)
                if (!valueNames.ContainsKey(i))
                {
                    if (!i.IsConstant) throw new InvalidOperationException($"Node {n.Op.Name} uses {i.Name} before it is defined.");
                    // A constant not listed in graph.Constants (e.g. after a pass): still export it.
                    var name = ctx.Unique(i.Name);
                    valueNames[i] = name;
                    g.Initializer.Add(LoweringContext.Tensor(name, i.Spec.DType, i.Spec.Shape.ToArray(), i.ConstantData!));
                }
            ctx.Begin(n);
            Lowerings.Lower(ctx);
            var outs = ctx.End();
            for (int k = 0; k < outs.Length; k++) valueNames[n.Outputs[k]] = outs[k];
        }

        // Which output dims follow a symbolic input dim is not tracked for DynamicAxes, so then only output ranks are
        // declared; a graph with symbolic dims declares each output dim (a symbol's name, or open for an expression).
        bool dynamic = graph.Inputs.Any(v => v.DynamicAxes.Count > 0);
        var produced = new HashSet<string>(g.Node.SelectMany(n => n.Output), StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var o in graph.Outputs)
        {
            if (!valueNames.TryGetValue(o, out var name))
            {
                if (!o.IsConstant) throw new InvalidOperationException($"Graph output {o.Name} is never computed.");
                name = ctx.Unique(o.Name);
                g.Initializer.Add(LoweringContext.Tensor(name, o.Spec.DType, o.Spec.Shape.ToArray(), o.ConstantData!));
            }
            // ONNX outputs must be node results with distinct names: route inputs, initializers and repeats through Identity.
            if (!produced.Contains(name) || !used.Add(name))
            {
                var alias = ctx.Unique(o.Name + "_out");
                ctx.Emit("Identity", [name], [alias]);
                name = alias;
                used.Add(name);
            }
            g.Output.Add(ValueInfo(name, o.Spec, o.HasSymbolicDims ? o : null, options, dynamic));
        }

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = options.ProducerName,
            ProducerVersion = options.ProducerVersion ?? typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0",
            ModelVersion = options.ModelVersion,
            Graph = g,
        };
        if (options.DocString != null) model.DocString = options.DocString;
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        foreach (var (k, v) in options.Metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }

    /// <summary>The serialized ONNX model (protobuf bytes) of <paramref name="graph"/>.</summary>
    public static byte[] ToBytes(Graph graph, OnnxExportOptions? options = null) => ToModel(graph, options).ToByteArray();

    /// <summary>Writes the ONNX model of <paramref name="graph"/> to <paramref name="path"/>.</summary>
    public static void Save(Graph graph, string path, OnnxExportOptions? options = null) => File.WriteAllBytes(path, ToBytes(graph, options));

    /// <summary>True when <paramref name="op"/> can be lowered at <paramref name="opset"/>.</summary>
    public static bool IsSupported(Op op, int opset = OnnxExportOptions.MaxOpset) => Lowerings.Reason(op, opset) == null;

    /// <summary>The ops that have a lowering (at some opset in 13–17).</summary>
    public static IReadOnlyList<Op> SupportedOps => Lowerings.Ops;

    /// <summary>The lowest opset at which <paramref name="op"/> can be lowered; null when it has no lowering.</summary>
    public static int? MinimumOpset(Op op) => Lowerings.MinOpset(op);

    private static ValueInfoProto ValueInfo(string name, TensorSpec spec, Value? input, OnnxExportOptions options, bool unknownDims)
    {
        var shape = new TensorShapeProto();
        for (int a = 0; a < spec.Shape.Rank; a++)
        {
            var d = new TensorShapeProto.Types.Dimension();
            if (input?.SymbolicShape is { } sym && !sym[a].IsConstant)
            {
                // A symbol keeps its name (ONNX Runtime then checks that inputs agree); an expression stays open.
                if (sym[a].SymbolName is { } s) d.DimParam = s;
            }
            else if (input != null && input.DynamicAxes.Contains(a)) d.DimParam = options.DynamicDimName(input, a);
            else if (!unknownDims) d.DimValue = spec.Shape[a];
            shape.Dim.Add(d);
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)OnnxTypes.ToOnnx(spec.DType), Shape = shape } },
        };
    }
}
