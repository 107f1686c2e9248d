namespace DualFramework.IR;

/// <summary>The most recent bindings of a symbolic graph to input shapes (a loop alternates few sizes: a full batch and
/// the last partial one), so each shape is bound, and its op rules run, once.</summary>
internal sealed class GraphBindingCache(Graph graph, int capacity = 8)
{
    private readonly List<(TensorSpec[] Specs, GraphBinding Binding)> _entries = [];

    /// <summary>The binding for graph inputs of <paramref name="inputs"/>' specs.</summary>
    public GraphBinding For(ReadOnlySpan<Tensor> inputs)
    {
        foreach (var (specs, b) in _entries)
        {
            bool same = specs.Length == inputs.Length;
            for (int i = 0; same && i < inputs.Length; i++) same = specs[i] == inputs[i].Spec;
            if (same) return b;
        }
        var key = new TensorSpec[inputs.Length];
        for (int i = 0; i < key.Length; i++) key[i] = inputs[i].Spec;
        var binding = graph.Bind(key);
        if (_entries.Count == capacity) _entries.RemoveAt(0);
        _entries.Add((key, binding));
        return binding;
    }
}
