using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.Operators;

namespace DualFramework.IR;

/// <summary>
/// Core's portable executor (the default <see cref="IComputeBackend.Compile"/>): runs a graph node by node through
/// <see cref="IComputeBackend.Execute"/> on concrete tensors, without re-checking shapes (the graph was verified when built) and
/// without recording gradients. Constants are uploaded once and kept; every intermediate is freed right after its last use,
/// so peak memory follows the live set rather than the whole graph.
/// </summary>
public sealed class GraphInterpreter : IExecutable
{
    private readonly IComputeBackend _backend;
    private readonly Graph _graph;
    private readonly Dictionary<Value, int> _slot = new(ReferenceEqualityComparer.Instance);
    private readonly int[][] _nodeInputs;
    private readonly int[][] _nodeOutputs;
    private readonly TensorSpec[][] _nodeSpecs;
    private readonly int[][] _freeAfter;
    private readonly int[] _outputSlots;
    private readonly Value[] _constants;
    private Tensor?[]? _constantTensors;
    private bool _disposed;

    /// <summary>Prepares <paramref name="graph"/> for execution on <paramref name="backend"/>. The graph must not change afterwards.</summary>
    public GraphInterpreter(IComputeBackend backend, Graph graph)
    {
        _backend = backend;
        _graph = graph;
        int Slot(Value v)
        {
            if (!_slot.TryGetValue(v, out var s)) _slot[v] = s = _slot.Count;
            return s;
        }
        foreach (var v in graph.Inputs) Slot(v);
        _constants = graph.Constants.ToArray();
        foreach (var c in _constants) Slot(c);
        var nodes = graph.Nodes;
        _nodeInputs = new int[nodes.Count][];
        _nodeOutputs = new int[nodes.Count][];
        _nodeSpecs = new TensorSpec[nodes.Count][];
        var lastUse = new Dictionary<int, int>();
        for (int k = 0; k < nodes.Count; k++)
        {
            var n = nodes[k];
            _nodeInputs[k] = n.Inputs.Select(Slot).ToArray();
            foreach (var s in _nodeInputs[k]) lastUse[s] = k;
            _nodeOutputs[k] = n.Outputs.Select(Slot).ToArray();
            _nodeSpecs[k] = n.Outputs.Select(o => o.Spec).ToArray();
            foreach (var s in _nodeOutputs[k]) lastUse.TryAdd(s, k); // unused outputs die where they are born
        }
        _outputSlots = graph.Outputs.Select(Slot).ToArray();
        var keep = new HashSet<int>(_outputSlots);
        foreach (var v in graph.Inputs) keep.Add(_slot[v]);
        foreach (var c in _constants) keep.Add(_slot[c]);
        var free = Enumerable.Range(0, nodes.Count).Select(_ => new List<int>()).ToArray();
        foreach (var (s, k) in lastUse)
            if (!keep.Contains(s)) free[k].Add(s);
        _freeAfter = free.Select(l => l.ToArray()).ToArray();
        SlotCount = _slot.Count;
    }

    /// <summary>Number of value slots (inputs, constants and node outputs).</summary>
    public int SlotCount { get; }

    /// <summary>Largest number of intermediates alive at once during the last <see cref="Run"/> (for tests).</summary>
    public int PeakLiveIntermediates { get; private set; }

    /// <inheritdoc />
    public Tensor[] Run(Tensor[] inputs)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var gin = _graph.Inputs;
        if (inputs.Length != gin.Count) throw new ArgumentException($"The graph takes {gin.Count} inputs, got {inputs.Length}.", nameof(inputs));
        var binding = _graph.IsSymbolic ? (_bindings ??= new GraphBindingCache(_graph)).For(inputs) : null;
        if (binding == null)
            for (int i = 0; i < inputs.Length; i++)
                if (inputs[i].Spec != gin[i].Spec)
                    throw new ArgumentException($"Graph input {i} ({gin[i].Name}) expects {gin[i].Spec}, got {inputs[i].Spec}.", nameof(inputs));
        var env = new Tensor?[SlotCount];
        for (int i = 0; i < inputs.Length; i++) env[i] = inputs[i];
        var consts = Constants();
        for (int i = 0; i < _constants.Length; i++) env[gin.Count + i] = consts[i];

        using var noGrad = Autograd.NoGrad();
        Tensor[] result;
        using (var scope = TensorScope.Begin())
        {
            var nodes = _graph.Nodes;
            int live = 0, peak = 0;
            for (int k = 0; k < nodes.Count; k++)
            {
                var n = nodes[k];
                var ins = _nodeInputs[k];
                var args = new Tensor[ins.Length];
                for (int j = 0; j < ins.Length; j++) args[j] = env[ins[j]]!;
                var specs = binding?.OutputsOf(k) ?? _nodeSpecs[k];
                var handle = _backend.Execute(n.Op, binding?.AttrsOf(k) ?? n.Attrs, args, specs);
                var handles = handle as object[] ?? [handle];
                var outs = _nodeOutputs[k];
                for (int j = 0; j < outs.Length; j++) env[outs[j]] = Tensor.Wrap(_backend, handles[j], specs[j]);
                live += outs.Length;
                peak = Math.Max(peak, live);
                foreach (var s in _freeAfter[k])
                {
                    env[s]?.Dispose();
                    env[s] = null;
                    live--;
                }
            }
            PeakLiveIntermediates = peak;
            result = new Tensor[_outputSlots.Length];
            var seen = new HashSet<int>();
            for (int i = 0; i < result.Length; i++)
            {
                int s = _outputSlots[i];
                var v = _graph.Outputs[i];
                var spec = binding?.SpecOf(v) ?? v.Spec;
                if (v.IsConstant) result[i] = Tensor.FromBytes(v.ConstantData, v.Spec, _backend);
                else if (!seen.Add(s) && !v.IsInput)
                    // Each output gets its own handle so that callers may dispose them independently (storage is shared).
                    result[i] = Tensor.Wrap(_backend, _backend.Execute(OpSet.StopGradient, OpAttrs.None, [env[s]!], [spec]), spec);
                else result[i] = env[s]!;
            }
            scope.Keep(result);
        }
        return result;
    }

    // A symbolic graph's bindings to the input shapes it runs at.
    private GraphBindingCache? _bindings;

    private Tensor?[] Constants()
    {
        if (_constantTensors != null) return _constantTensors;
        var ts = new Tensor?[_constants.Length];
        for (int i = 0; i < ts.Length; i++)
            ts[i] = Tensor.FromBytes(_constants[i].ConstantData, _constants[i].Spec, _backend).DetachFromScope();
        return _constantTensors = ts;
    }

    /// <summary>Frees the uploaded constants.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_constantTensors != null) foreach (var t in _constantTensors) t?.Dispose();
        _constantTensors = null;
    }
}
