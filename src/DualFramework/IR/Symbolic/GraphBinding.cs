using DualFramework.Operators;

namespace DualFramework.IR;

/// <summary>
/// A graph bound to concrete input shapes: the symbols' sizes, every node's attributes and output specs at those sizes.
/// Building one checks the inputs against the graph's signature (dtype, rank, static dims, one size per symbol) and runs
/// every op's shape rule, so an op that cannot take these sizes fails here, naming itself, not inside a kernel; it also
/// guards the recorded symbolic dims (a dim that the generalisation took for a constant but that changes fails here).
/// </summary>
public sealed class GraphBinding
{
    private readonly Dictionary<Value, TensorSpec> _specs = new(ReferenceEqualityComparer.Instance);
    private readonly OpAttrs[] _attrs;
    private readonly TensorSpec[][] _outputs;

    internal GraphBinding(Graph graph, IReadOnlyList<TensorSpec> inputs)
    {
        var gin = graph.Inputs;
        if (inputs.Count != gin.Count) throw new SymbolicShapeException($"The graph takes {gin.Count} inputs, got {inputs.Count}.");
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var s in graph.Symbols)
        {
            var spec = inputs[s.Input];
            if (spec.Shape.Rank <= s.Axis) break; // reported below with the input's rank
            sizes.TryAdd(s.Name, spec.Shape[s.Axis]);
        }
        Symbols = sizes;
        long Size(string name) => sizes.TryGetValue(name, out var v) ? v : throw new SymbolicShapeException($"Symbol '{name}' is not bound by any input.");
        string Where() => sizes.Count == 0 ? "" : $" (with {string.Join(", ", sizes.Select(kv => $"{kv.Key}={kv.Value}"))})";
        for (int i = 0; i < gin.Count; i++)
        {
            var want = gin[i];
            var got = inputs[i];
            if (got.DType != want.Spec.DType || got.Shape.Rank != want.Spec.Shape.Rank)
                throw new SymbolicShapeException($"Graph input {i} ({want.Name}) expects {want.TypeText}, got {got}.");
            for (int a = 0; a < got.Shape.Rank; a++)
                if (want.DimAt(a).Evaluate(Size) != got.Shape[a])
                    throw new SymbolicShapeException($"Graph input {i} ({want.Name}) expects {want.TypeText}{Where()}, got {got}.");
            _specs[want] = got;
        }
        foreach (var c in graph.Constants) _specs[c] = c.Spec;
        var nodes = graph.Nodes;
        _attrs = new OpAttrs[nodes.Count];
        _outputs = new TensorSpec[nodes.Count][];
        for (int k = 0; k < nodes.Count; k++)
        {
            var n = nodes[k];
            var ins = new TensorSpec[n.Inputs.Length];
            for (int j = 0; j < ins.Length; j++) ins[j] = _specs.TryGetValue(n.Inputs[j], out var s) ? s : n.Inputs[j].Spec;
            TensorSpec[] outs;
            try
            {
                _attrs[k] = n.AttrsFor(Size);
                outs = n.Op.Infer(ins, _attrs[k]);
            }
            catch (Exception e) when (e is OpException or OverflowException)
            {
                throw new SymbolicShapeException($"Node {n.Op.Name}{(n.LayerPath is { } p ? $" ({p})" : "")} cannot take these sizes{Where()}: {e.Message}", e);
            }
            for (int j = 0; j < outs.Length; j++)
            {
                var o = n.Outputs[j];
                bool ok = outs[j].DType == o.Spec.DType && outs[j].Shape.Rank == o.Spec.Shape.Rank;
                for (int a = 0; ok && a < outs[j].Shape.Rank; a++) ok = o.DimAt(a).Evaluate(Size) == outs[j].Shape[a];
                if (!ok)
                    throw new SymbolicShapeException($"Node {n.Op.Name}{(n.LayerPath is { } p ? $" ({p})" : "")} gives {outs[j]}{Where()} where the graph records {o.TypeText}: the graph was specialised to sizes it cannot generalise.");
                _specs[o] = outs[j];
            }
            _outputs[k] = outs;
        }
        OutputSpecs = graph.Outputs.Select(SpecOf).ToArray();
    }

    /// <summary>The size of each symbol.</summary>
    public IReadOnlyDictionary<string, long> Symbols { get; }

    /// <summary>The attributes of node <paramref name="index"/> (position in <see cref="Graph.Nodes"/>).</summary>
    public OpAttrs AttrsOf(int index) => _attrs[index];

    /// <summary>The output specs of node <paramref name="index"/>.</summary>
    public TensorSpec[] OutputsOf(int index) => _outputs[index];

    /// <summary>The spec of a value of the graph at these sizes.</summary>
    public TensorSpec SpecOf(Value v) => _specs.TryGetValue(v, out var s) ? s : v.Spec;

    /// <summary>The specs of the graph's outputs.</summary>
    public IReadOnlyList<TensorSpec> OutputSpecs { get; }
}
