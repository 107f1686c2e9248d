using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.NN;
using DualFramework.Operators;

namespace DualFramework.Onnx;

/// <summary>
/// An imported ONNX model: its IR <see cref="Graph"/> (the model's inputs first, then — with
/// <see cref="OnnxImportOptions.TrainableInitializers"/> — one input per parameter), names and specs, and ways to run it:
/// <see cref="Run(Tensor[])"/> compiles the graph for a backend (torch: interpreter; graph: ONNX Runtime),
/// <see cref="Forward(Tensor[])"/> applies the nodes eagerly so gradients reach <see cref="Parameters"/>.
/// </summary>
/// <remarks>
/// A model input used as a shape, axes or other structural argument (e.g. Reshape's shape, Slice's starts, Trilu's
/// k) is a <em>shape input</em>: the graph depends on its value, as a <c>tf.function</c> trace depends on a Python
/// value. Such a model has no single graph; <see cref="Run(IComputeBackend, Tensor[])"/> and <see cref="Forward(Tensor[])"/> build
/// (and cache, up to <see cref="MaxGraphs"/>) one graph per distinct set of shape-input values, with those values as
/// constants. Errors that depend on those values (an impossible reshape, an unsupported attribute of a node that needs
/// them) are reported by the first run with the values.
/// </remarks>
public sealed class ImportedModel : IDisposable
{
    /// <summary>Most graphs kept for different shape-input values; the oldest is dropped beyond it.</summary>
    public const int MaxGraphs = 16;

    private readonly OnnxImporter.ImportPlan? _plan;
    private readonly List<Variant> _variants = [];
    private readonly List<string> _shapeInputs;
    private readonly IComputeBackend? _backend;
    private readonly Variable[] _parameters;
    private bool _disposed;

    /// <summary>One graph, for the shape-input values in <see cref="Key"/> (empty for a model without shape inputs).</summary>
    private sealed class Variant(Graph graph, Dictionary<string, (TensorSpec Spec, byte[] Data)> key) : IDisposable
    {
        public Graph Graph { get; } = graph;
        public Dictionary<string, (TensorSpec Spec, byte[] Data)> Key { get; } = key;
        public Dictionary<IComputeBackend, IExecutable> Compiled { get; } = new(ReferenceEqualityComparer.Instance);
        public Dictionary<Value, Tensor> Constants { get; } = new(ReferenceEqualityComparer.Instance);

        public void Dispose()
        {
            foreach (var e in Compiled.Values) e.Dispose();
            foreach (var t in Constants.Values) t.Dispose();
        }
    }

    internal ImportedModel(Graph graph, int dataInputs, string[] inputNames, string[] outputNames, Variable[] parameters, int opset, IComputeBackend? backend)
    {
        _variants.Add(new Variant(graph, new(StringComparer.Ordinal)));
        _shapeInputs = [];
        InputNames = inputNames;
        OutputNames = outputNames;
        InputSpecs = graph.Inputs.Take(dataInputs).Select(v => v.Spec).ToArray();
        OutputSpecs = graph.Outputs.Select(v => v.Spec).ToArray();
        _parameters = parameters;
        Opset = opset;
        _backend = backend;
    }

    internal ImportedModel(OnnxImporter.ImportPlan plan, TensorSpec[] inputSpecs, string[] inputNames, string[] outputNames, TensorSpec[] declaredOutputs,
        IReadOnlyList<string> shapeInputs, Variable[] parameters, int opset, IComputeBackend? backend)
    {
        _plan = plan;
        _shapeInputs = shapeInputs.ToList();
        InputNames = inputNames;
        OutputNames = outputNames;
        InputSpecs = inputSpecs;
        OutputSpecs = declaredOutputs;
        _parameters = parameters;
        Opset = opset;
        _backend = backend;
    }

    /// <summary>The IR graph (verified).</summary>
    /// <exception cref="InvalidOperationException">The model has shape inputs (see <see cref="ShapeInputNames"/>), so its
    /// graph depends on their values: use <see cref="GraphFor(Tensor[])"/>.</exception>
    public Graph Graph => _plan == null ? _variants[0].Graph
        : throw new InvalidOperationException($"The model's graph depends on the values of its shape input(s) {string.Join(", ", _shapeInputs)}; use GraphFor(inputs).");

    /// <summary>The model's (non-initializer) input names, in order.</summary>
    public IReadOnlyList<string> InputNames { get; }

    /// <summary>The model's output names, in order.</summary>
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>Specs of the model's inputs (symbolic dims resolved with <see cref="OnnxImportOptions.SymbolicDimSize"/>).</summary>
    public IReadOnlyList<TensorSpec> InputSpecs { get; }

    /// <summary>Specs of the outputs. For a model with shape inputs these are the types the model declares (open dims
    /// shown as <see cref="OnnxImportOptions.SymbolicDimSize"/>); the actual shapes depend on the shape-input values.</summary>
    public IReadOnlyList<TensorSpec> OutputSpecs { get; }

    /// <summary>Names of the inputs whose values the graph depends on, as found so far (at import, and by later builds);
    /// empty for a model with one static graph.</summary>
    public IReadOnlyList<string> ShapeInputNames => _shapeInputs;

    /// <summary>Number of graphs built and cached (1 for a model without shape inputs).</summary>
    public int GraphCount => _variants.Count;

    /// <summary>The default-domain opset the model imports.</summary>
    public int Opset { get; }

    /// <summary>Trainable float initializers (empty unless <see cref="OnnxImportOptions.TrainableInitializers"/>), named as in the model.</summary>
    public IReadOnlyList<Variable> Parameters => _parameters;

    /// <summary>The graph used for these input values: <see cref="Graph"/>, or for a model with shape inputs the graph
    /// built (or cached) for their values.</summary>
    /// <exception cref="OnnxImportException">Building the graph for these values failed.</exception>
    public Graph GraphFor(params Tensor[] inputs)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckInputs(inputs);
        return VariantFor(inputs).Graph;
    }

    /// <summary>Runs the model on the options' backend (or the default backend) without gradients.</summary>
    public Tensor[] Run(params Tensor[] inputs) => Run(_backend ?? BackendRegistry.Default, inputs);

    /// <summary>Runs the compiled graph on <paramref name="backend"/> (compiled once per backend and graph), without gradients.
    /// Inputs on another backend are copied over; parameters are passed with their current values.</summary>
    /// <exception cref="OnnxImportException">The model has shape inputs and building its graph for their values failed.</exception>
    public Tensor[] Run(IComputeBackend backend, params Tensor[] inputs)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(backend);
        CheckInputs(inputs);
        var v = VariantFor(inputs);
        if (!v.Compiled.TryGetValue(backend, out var exe)) v.Compiled[backend] = exe = backend.Compile(v.Graph);
        using var scope = TensorScope.Begin();
        var args = inputs.Concat(_parameters.Select(p => p.Value)).Select(t => On(t, backend)).ToArray();
        var result = exe.Run(args);
        scope.Keep(result);
        return result;
    }

    /// <summary>
    /// Applies the graph's nodes eagerly (through the dispatcher) on concrete tensors, using the parameters' current values,
    /// so autograd records the computation and a loss can be backpropagated into <see cref="Parameters"/>.
    /// </summary>
    public Tensor[] Forward(params Tensor[] inputs)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckInputs(inputs);
        var variant = VariantFor(inputs);
        var graph = variant.Graph;
        var env = new Dictionary<Value, Tensor>(ReferenceEqualityComparer.Instance);
        int k = 0;
        foreach (var t in inputs) env[graph.Inputs[k++]] = t;
        foreach (var p in _parameters) env[graph.Inputs[k++]] = p.Value;
        Tensor Get(Value v) => env.TryGetValue(v, out var t) ? t : Constant(variant, v);
        foreach (var n in graph.Nodes)
        {
            var outs = Dispatcher.ApplyMulti(n.Op, n.Attrs, n.Inputs.Select(Get).ToArray());
            for (int j = 0; j < outs.Length; j++) env[n.Outputs[j]] = outs[j];
        }
        return graph.Outputs.Select(Get).ToArray();
    }

    /// <summary>The first output of <see cref="Forward(Tensor[])"/> for a single-input model.</summary>
    public Tensor Forward(Tensor x) => Forward([x])[0];

    private Variant VariantFor(Tensor[] inputs)
    {
        if (_plan == null) return _variants[0];
        var host = new Dictionary<string, (TensorSpec Spec, byte[] Data)>(StringComparer.Ordinal);
        (TensorSpec Spec, byte[] Data) Value(string name)
        {
            if (host.TryGetValue(name, out var h)) return h;
            int i = InputNames.ToList().IndexOf(name);
            var t = inputs[i];
            var bytes = t.ToBytes();
            return host[name] = (t.Spec, bytes);
        }
        foreach (var v in _variants)
            if (v.Key.All(e => Value(e.Key) is var (spec, data) && spec == e.Value.Spec && data.AsSpan().SequenceEqual(e.Value.Data)))
                return v;
        var built = _plan.Build(Value);
        var key = new Dictionary<string, (TensorSpec Spec, byte[] Data)>(StringComparer.Ordinal);
        foreach (var name in built.ShapeInputs)
        {
            key[name] = Value(name);
            if (!_shapeInputs.Contains(name)) _shapeInputs.Add(name);
        }
        var variant = new Variant(built.Graph!, key);
        if (_variants.Count == MaxGraphs)
        {
            _variants[0].Dispose();
            _variants.RemoveAt(0);
        }
        _variants.Add(variant);
        return variant;
    }

    private static Tensor Constant(Variant variant, Value v)
    {
        if (!variant.Constants.TryGetValue(v, out var t))
            variant.Constants[v] = t = Tensor.FromBytes(v.ConstantData, v.Spec).DetachFromScope();
        return t;
    }

    private void CheckInputs(Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length != InputSpecs.Count)
            throw new ArgumentException($"The model takes {InputSpecs.Count} input(s) ({string.Join(", ", InputNames)}), got {inputs.Length}.", nameof(inputs));
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i].Spec != InputSpecs[i])
                throw new ArgumentException($"Input {InputNames[i]} expects {InputSpecs[i]}, got {inputs[i].Spec}.", nameof(inputs));
    }

    private static Tensor On(Tensor t, IComputeBackend backend)
    {
        if (ReferenceEquals(t.Backend, backend)) return t;
        var b = t.ToBytes();
        return Tensor.FromBytes(b, t.Spec, backend);
    }

    /// <summary>Frees compiled executables, cached constants and the parameters.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var v in _variants) v.Dispose();
        foreach (var p in _parameters) p.Dispose();
    }
}
