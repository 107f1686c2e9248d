using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.Diagnostics;

namespace DualFramework.IR;

/// <summary>
/// The debug build of a compiled function under <see cref="AnomalyMode"/>: for every floating output of every node, a
/// scalar that is NaN exactly when that output holds a NaN or an infinity (the sum of x·0), all gathered into one float32
/// vector that becomes an extra graph output right after the function's results. After a run the host reads that vector
/// and reports the first failing node in graph (topological) order.
/// </summary>
internal sealed class GraphAnomalyChecks
{
    private readonly (Node Node, int Output, int Index)[] _checked;
    private readonly string _function;

    private GraphAnomalyChecks((Node, int, int)[] checkedOutputs, string function) => (_checked, _function) = (checkedOutputs, function);

    /// <summary>Adds the checks to <paramref name="graph"/> (after its passes) and inserts the flag vector as output
    /// <paramref name="resultCount"/>; null when the graph has no floating node output.</summary>
    public static GraphAnomalyChecks? Add(Graph graph, IComputeBackend backend, int resultCount, string function)
    {
        var nodes = graph.Nodes.ToArray();
        var sym = new SymbolicBackend(graph, backend);
        var previous = SymbolicTrace.Swap(new TraceContext(sym));
        var checkedOutputs = new List<(Node, int, int)>();
        Value flags;
        try
        {
            using var scope = TensorScope.Begin();
            using var noGrad = Autograd.NoGrad();
            var parts = new List<Tensor>();
            for (int i = 0; i < nodes.Length; i++)
                for (int k = 0; k < nodes[i].Outputs.Length; k++)
                {
                    var v = nodes[i].Outputs[k];
                    if (!v.Spec.DType.IsFloating() || v.Spec.Shape.NumElements == 0) continue;
                    var probe = Ops.Sum(Ops.Mul(sym.Wrap(v), 0.0));
                    if (probe.DType != DType.Float32) probe = Ops.Cast(probe, DType.Float32);
                    parts.Add(Ops.Reshape(probe, 1));
                    checkedOutputs.Add((nodes[i], k, i));
                }
            if (parts.Count == 0) return null;
            flags = (Value)(parts.Count == 1 ? parts[0] : Ops.Concat(parts, 0)).Handle;
        }
        finally
        {
            SymbolicTrace.Swap(previous);
        }
        graph.InsertOutput(resultCount, flags);
        graph.Verify();
        return new GraphAnomalyChecks(checkedOutputs.ToArray(), function);
    }

    /// <summary>Number of node outputs checked.</summary>
    public int Count => _checked.Length;

    /// <summary>Throws for the first non-finite node output recorded in <paramref name="flags"/>.</summary>
    public void Verify(Tensor flags)
    {
        var f = flags.ToFloatArray();
        for (int i = 0; i < f.Length; i++)
        {
            if (!float.IsNaN(f[i])) continue;
            var (node, k, index) = _checked[i];
            // Traced layer paths start with the function's name ("train_step.Sequential.3"): report the layer's own path,
            // as eager mode does.
            string? path = node.LayerPath;
            if (path != null && path.StartsWith(_function + ".", StringComparison.Ordinal)) path = path[(_function.Length + 1)..];
            else if (path == _function) path = null;
            string inputs = string.Join(", ", node.Inputs.Select(v => v.Spec));
            throw new NumericalAnomalyException(node.Op.Name, path, "compiled graph",
                $"Anomaly: op '{node.Op.Name}' in layer '{path ?? "<no layer>"}' (node {index}) of compiled function '{_function}' produced a non-finite value in output {k} ({node.Outputs[k].Spec}); operands: {inputs}.");
        }
    }
}
