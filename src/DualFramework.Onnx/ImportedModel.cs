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
public sealed class ImportedModel : IDisposable
{
    private readonly Dictionary<IBackend, IExecutable> _compiled = new(ReferenceEqualityComparer.Instance);
    private readonly IBackend? _backend;
    private readonly Dictionary<Value, Tensor> _constants = new(ReferenceEqualityComparer.Instance);
    private readonly Variable[] _parameters;
    private bool _disposed;

    internal ImportedModel(Graph graph, int dataInputs, string[] inputNames, string[] outputNames, Variable[] parameters, int opset, IBackend? backend)
    {
        Graph = graph;
        InputNames = inputNames;
        OutputNames = outputNames;
        InputSpecs = graph.Inputs.Take(dataInputs).Select(v => v.Spec).ToArray();
        OutputSpecs = graph.Outputs.Select(v => v.Spec).ToArray();
        _parameters = parameters;
        Opset = opset;
        _backend = backend;
    }

    /// <summary>The IR graph (verified).</summary>
    public Graph Graph { get; }

    /// <summary>The model's (non-initializer) input names, in order.</summary>
    public IReadOnlyList<string> InputNames { get; }

    /// <summary>The model's output names, in order.</summary>
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>Specs of the model's inputs (symbolic dims resolved with <see cref="OnnxImportOptions.SymbolicDimSize"/>).</summary>
    public IReadOnlyList<TensorSpec> InputSpecs { get; }

    /// <summary>Specs of the outputs.</summary>
    public IReadOnlyList<TensorSpec> OutputSpecs { get; }

    /// <summary>The default-domain opset the model imports.</summary>
    public int Opset { get; }

    /// <summary>Trainable float initializers (empty unless <see cref="OnnxImportOptions.TrainableInitializers"/>), named as in the model.</summary>
    public IReadOnlyList<Variable> Parameters => _parameters;

    /// <summary>Runs the model on the options' backend (or the default backend) without gradients.</summary>
    public Tensor[] Run(params Tensor[] inputs) => Run(_backend ?? BackendRegistry.Default, inputs);

    /// <summary>Runs the compiled graph on <paramref name="backend"/> (compiled once per backend), without gradients.
    /// Inputs on another backend are copied over; parameters are passed with their current values.</summary>
    public Tensor[] Run(IBackend backend, params Tensor[] inputs)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(backend);
        CheckInputs(inputs);
        if (!_compiled.TryGetValue(backend, out var exe)) _compiled[backend] = exe = backend.Compile(Graph);
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
        var env = new Dictionary<Value, Tensor>(ReferenceEqualityComparer.Instance);
        int k = 0;
        foreach (var t in inputs) env[Graph.Inputs[k++]] = t;
        foreach (var p in _parameters) env[Graph.Inputs[k++]] = p.Value;
        Tensor Get(Value v) => env.TryGetValue(v, out var t) ? t : Constant(v);
        foreach (var n in Graph.Nodes)
        {
            var outs = Dispatcher.ApplyMulti(n.Op, n.Attrs, n.Inputs.Select(Get).ToArray());
            for (int j = 0; j < outs.Length; j++) env[n.Outputs[j]] = outs[j];
        }
        return Graph.Outputs.Select(Get).ToArray();
    }

    /// <summary>The first output of <see cref="Forward(Tensor[])"/> for a single-input model.</summary>
    public Tensor Forward(Tensor x) => Forward([x])[0];

    private Tensor Constant(Value v)
    {
        if (!_constants.TryGetValue(v, out var t))
            _constants[v] = t = Tensor.FromBytes(v.ConstantData, v.Spec).DetachFromScope();
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

    private static Tensor On(Tensor t, IBackend backend)
    {
        if (ReferenceEquals(t.Backend, backend)) return t;
        var b = new byte[t.NumElements * t.DType.ElementSize()];
        t.Backend.ToBytes(t.Handle, t.Spec, b);
        return Tensor.FromBytes(b, t.Spec, backend);
    }

    /// <summary>Frees compiled executables, cached constants and the parameters.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var e in _compiled.Values) e.Dispose();
        foreach (var t in _constants.Values) t.Dispose();
        foreach (var p in _parameters) p.Dispose();
    }
}
