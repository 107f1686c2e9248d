using DualFramework.Backends;
using DualFramework.Operators;

namespace DualFramework.IR.Passes;

/// <summary>Removes nodes none of whose outputs reaches a graph output, and constants nothing uses. Random ops are pure
/// given their seed attribute, so unused ones go too.</summary>
public sealed class DeadCodeElimination : IGraphPass
{
    /// <inheritdoc />
    public string Name => "dce";

    /// <inheritdoc />
    public bool Run(Graph graph)
    {
        var live = new HashSet<Value>(graph.Outputs, ReferenceEqualityComparer.Instance);
        var keep = new List<Node>();
        for (int k = graph.Nodes.Count - 1; k >= 0; k--)
        {
            var n = graph.Nodes[k];
            if (!n.Outputs.Any(live.Contains)) continue;
            keep.Add(n);
            foreach (var i in n.Inputs) live.Add(i);
        }
        keep.Reverse();
        int constants = graph.Constants.Count;
        bool changed = keep.Count != graph.Nodes.Count;
        graph.ReplaceNodes(keep);
        return changed || graph.Constants.Count != constants;
    }
}

/// <summary>Common-subexpression elimination: merges constants with equal bytes, and nodes applying the same op with
/// structurally equal attributes (<see cref="Attributes.StructurallyEqual"/>) to the same operands. Random ops with equal
/// seeds produce equal values, so they merge too.</summary>
public sealed class CommonSubexpressionElimination : IGraphPass
{
    /// <inheritdoc />
    public string Name => "cse";

    private sealed class NodeKey(Node n) : IEquatable<NodeKey>
    {
        public Node Node { get; } = n;
        private readonly int _hash = HashCode.Combine(n.Op.Id, Attributes.StructuralHash(n.Attrs), n.Inputs.Aggregate(17, (h, v) => h * 31 + v.Id));

        public bool Equals(NodeKey? o) => o != null && ReferenceEquals(o.Node.Op, Node.Op) && o.Node.Inputs.Length == Node.Inputs.Length &&
            o.Node.Inputs.Zip(Node.Inputs).All(p => ReferenceEquals(p.First, p.Second)) && Attributes.StructurallyEqual(o.Node.Attrs, Node.Attrs);

        public override bool Equals(object? obj) => Equals(obj as NodeKey);
        public override int GetHashCode() => _hash;
    }

    /// <inheritdoc />
    public bool Run(Graph graph)
    {
        var map = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);
        var consts = new Dictionary<(TensorSpec, string), Value>();
        foreach (var c in graph.Constants)
        {
            var key = (c.Spec, Convert.ToBase64String(c.ConstantData!));
            if (consts.TryGetValue(key, out var first)) map[c] = first;
            else consts[key] = c;
        }
        PassUtil.Rewire(graph, map);
        bool changed = map.Count > 0;
        map.Clear();
        var seen = new Dictionary<NodeKey, Node>();
        var keep = new List<Node>();
        foreach (var n in graph.Nodes)
        {
            for (int i = 0; i < n.Inputs.Length; i++)
                if (map.TryGetValue(n.Inputs[i], out var r)) n.Inputs[i] = r;
            var key = new NodeKey(n);
            if (seen.TryGetValue(key, out var prev))
            {
                for (int j = 0; j < n.Outputs.Length; j++) map[n.Outputs[j]] = prev.Outputs[j];
                continue;
            }
            seen[key] = n;
            keep.Add(n);
        }
        for (int i = 0; i < graph.Outputs.Count; i++)
            if (map.TryGetValue(graph.Outputs[i], out var r)) graph.SetOutput(i, r);
        changed |= keep.Count != graph.Nodes.Count;
        graph.ReplaceNodes(keep);
        return changed;
    }
}

/// <summary>
/// Evaluates nodes whose operands are all constants (creation ops included) on an evaluation backend and replaces them by
/// constants. Random ops are skipped (their values belong to the run), and so are results larger than both
/// <see cref="MaxElements"/> and the node's largest constant operand: folding those would trade a cheap kernel for a
/// large constant (a fill, a broadcast of a scalar), whereas a result no larger than an operand (a weight scaled by folded
/// batch norm statistics) replaces that operand and keeps the weight a plain constant, which quantizers and pre-packing
/// need. While the sample builds of a graph with symbolic dims are optimised (<see cref="SymbolicGraphs.SampleBuild"/>),
/// no result larger than its operands is folded: such a fill's size follows the symbols, and a fold decided by size would
/// differ between sizes, so the builds could not be generalised.
/// </summary>
public sealed class ConstantFolding(IComputeBackend evaluationBackend, long maxElements = 1 << 20) : IGraphPass
{
    /// <inheritdoc />
    public string Name => "constant_folding";

    /// <summary>Largest folded result larger than all of its operands, in elements.</summary>
    public long MaxElements { get; } = maxElements;

    private long Limit(Node n) => Math.Max(SymbolicGraphs.InSampleBuild ? 1 : MaxElements, n.Inputs.Select(v => v.Spec.Shape.NumElements).DefaultIfEmpty(0).Max());

    /// <inheritdoc />
    public bool Run(Graph graph)
    {
        var map = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);
        var keep = new List<Node>();
        using var scope = TensorScope.Begin();
        using var noGrad = Autodiff.Autograd.NoGrad();
        var materialised = new Dictionary<Value, Tensor>(ReferenceEqualityComparer.Instance);
        Tensor Mat(Value v)
        {
            if (!materialised.TryGetValue(v, out var t))
                materialised[v] = t = Tensor.FromBytes(v.ConstantData, v.Spec, evaluationBackend);
            return t;
        }
        foreach (var n in graph.Nodes)
        {
            for (int i = 0; i < n.Inputs.Length; i++)
                if (map.TryGetValue(n.Inputs[i], out var r)) n.Inputs[i] = r;
            bool foldable = !PassUtil.IsRandom(n.Op) && n.Inputs.All(v => v.IsConstant) && n.Outputs.All(o => o.Spec.Shape.NumElements <= Limit(n))
                            && evaluationBackend.Supports(n.Op);
            if (!foldable)
            {
                keep.Add(n);
                continue;
            }
            var args = n.Inputs.Select(Mat).ToArray();
            var specs = n.Outputs.Select(o => o.Spec).ToArray();
            var h = evaluationBackend.Execute(n.Op, n.Attrs, args, specs);
            var hs = h as object[] ?? [h];
            for (int j = 0; j < hs.Length; j++)
            {
                var t = Tensor.Wrap(evaluationBackend, hs[j], specs[j]);
                var bytes = new byte[specs[j].Shape.NumElements * specs[j].DType.ElementSize()];
                evaluationBackend.ToBytes(t.Handle, specs[j], bytes);
                map[n.Outputs[j]] = graph.AddConstant(specs[j], bytes, n.Outputs[j].Name.TrimStart('%') is var nm ? "folded" + nm : null);
            }
        }
        if (map.Count == 0) return false;
        for (int i = 0; i < graph.Outputs.Count; i++)
            if (map.TryGetValue(graph.Outputs[i], out var r)) graph.SetOutput(i, r);
        graph.ReplaceNodes(keep);
        return true;
    }
}
