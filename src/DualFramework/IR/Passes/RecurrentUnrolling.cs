using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.Operators;

namespace DualFramework.IR.Passes;

/// <summary>
/// Replaces every recurrent node (<c>lstm</c>, <c>gru</c>, <c>rnn</c>) by the op's reference decomposition, the cell unrolled
/// over the static sequence length: the same ops the eager kernel runs and the gradient differentiates. In a traced training
/// step the gradient already holds that unrolled forward (it recomputes it to take its adjoint), so after this pass
/// common-subexpression elimination merges the two and the fused recurrent node disappears; in a forward-only graph the
/// pass only trades the node for many small ones.
/// </summary>
/// <param name="target">The backend the graph will run on (it supplies the device of the symbolic tensors).</param>
public sealed class RecurrentUnrolling(IComputeBackend target) : IGraphPass
{
    /// <inheritdoc />
    public string Name => "recurrent_unrolling";

    /// <inheritdoc />
    public bool Run(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var nodes = graph.Nodes.ToArray();
        if (!nodes.Any(n => n.Op is RecurrentOp)) return false;
        var sym = new SymbolicBackend(graph, target);
        var map = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);
        var order = new List<Node>(nodes.Length);
        using var scope = TensorScope.Begin();
        // The decomposition must not record on the tape: gradients are already part of the graph.
        using var noGrad = Autograd.NoGrad();
        foreach (var n in nodes)
        {
            for (int i = 0; i < n.Inputs.Length; i++)
                if (map.TryGetValue(n.Inputs[i], out var r)) n.Inputs[i] = r;
            if (n.Op is not RecurrentOp op)
            {
                order.Add(n);
                continue;
            }
            // The symbolic backend appends the decomposition's nodes to the graph; they take the recurrent node's place.
            int appendedFrom = graph.Nodes.Count;
            // The new nodes keep the layer path of the node they replace (errors and anomaly reports name the layer).
            using LayerPath.Scope? layer = n.LayerPath != null && LayerPath.Current == null ? LayerPath.Enter(n.LayerPath) : null;
            var outs = RecurrentDecomposition.Run(op, (RecurrentAttrs)n.Attrs, n.Inputs.Select(sym.Wrap).ToArray());
            for (int k = appendedFrom; k < graph.Nodes.Count; k++) order.Add(graph.Nodes[k]);
            for (int j = 0; j < n.Outputs.Length; j++) map[n.Outputs[j]] = (Value)outs[j].Handle;
        }
        graph.ReplaceNodes(order);
        PassUtil.Rewire(graph, map);
        return true;
    }
}
