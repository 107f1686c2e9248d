using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.NN;
using DualFramework.Operators;

namespace DualFramework.Onnx;

/// <summary>
/// An imported ONNX model, as a <see cref="Module"/>: its float initializers are the module's state (named as in the
/// model; trainable or frozen per <see cref="OnnxImportOptions.Trainable"/> and <see cref="Module.Freeze"/>; the running
/// statistics of BatchNormalization nodes are buffers), so it goes into <see cref="Sequential"/>, the Trainer, checkpoints,
/// export and data parallel like any layer. Its IR <see cref="Graph"/> has the model's inputs first, then one input per
/// state variable. <see cref="Run(Tensor[])"/> compiles the graph for a backend (torch: interpreter; graph: ONNX Runtime)
/// and always computes inference semantics; <see cref="Forward(Tensor[])"/> applies the nodes eagerly (or traced) so
/// gradients reach the parameters, and follows the module's mode.
/// </summary>
/// <remarks>
/// <para>Training mode (the default for a new module, as for every <see cref="Module"/>; call <c>Eval()</c> for inference)
/// changes two kinds of nodes in <see cref="Forward(Tensor[])"/>: a BatchNormalization node whose scale or bias is
/// trainable normalises with the batch statistics and updates its running mean and variance (PyTorch's rule: unbiased
/// batch variance, weight 1 − momentum of the ONNX node, or <see cref="OnnxImportOptions.BatchNormMomentum"/>, on the new
/// batch); one whose scale and bias are both frozen stays
/// in inference mode, as Keras's frozen BatchNormalization (fine-tuning the top of a pretrained network keeps the
/// statistics of the frozen part). A Dropout node with a known ratio drops elements with masks from
/// <see cref="Generator"/>. Evaluation mode and <see cref="Run(Tensor[])"/> use the stored statistics and no dropout.</para>
/// <para>A model input used as a shape, axes or other structural argument (e.g. Reshape's shape, Slice's starts, Trilu's
/// k) is a <em>shape input</em>: the graph depends on its value, as a <c>tf.function</c> trace depends on a Python
/// value. Such a model has no single graph; <see cref="Run(IComputeBackend, Tensor[])"/> and <see cref="Forward(Tensor[])"/> build
/// (and cache, up to <see cref="MaxGraphs"/>) one graph per distinct set of shape-input values, with those values as
/// constants. Errors that depend on those values (an impossible reshape, an unsupported attribute of a node that needs
/// them) are reported by the first run with the values. Inputs whose shapes differ from <see cref="InputSpecs"/> (same
/// rank and dtype, e.g. another batch size) likewise get a graph built for their shapes.</para>
/// </remarks>
public sealed class ImportedModel : Module, IHasGenerator
{
    /// <summary>Most graphs kept for different shape-input values or input shapes; the oldest is dropped beyond it.</summary>
    public const int MaxGraphs = 16;

    private readonly OnnxImporter.ImportPlan _plan;
    private readonly List<Variant> _variants = [];
    private readonly List<string> _shapeInputs;
    private readonly IComputeBackend? _backend;
    private readonly Variable[] _state;
    private readonly bool _static;
    private readonly double? _batchNormMomentum;

    /// <summary>One graph, for the input specs and shape-input values in its key.</summary>
    private sealed class Variant(Graph graph, OnnxImporter.TrainingNodes training, TensorSpec[] specs, Dictionary<string, (TensorSpec Spec, byte[] Data)> key) : IDisposable
    {
        public Graph Graph { get; } = graph;
        public OnnxImporter.TrainingNodes Training { get; } = training;
        public TensorSpec[] Specs { get; } = specs;
        public Dictionary<string, (TensorSpec Spec, byte[] Data)> Key { get; } = key;
        public Dictionary<IComputeBackend, IExecutable> Compiled { get; } = new(ReferenceEqualityComparer.Instance);
        public Dictionary<Value, Tensor> Constants { get; } = new(ReferenceEqualityComparer.Instance);

        public void Dispose()
        {
            foreach (var e in Compiled.Values) e.Dispose();
            foreach (var t in Constants.Values) t.Dispose();
        }
    }

    internal ImportedModel(OnnxImporter.ImportPlan plan, OnnxImporter.BuildResult probe, TensorSpec[] inputSpecs, string[] inputNames, string[] outputNames,
        TensorSpec[] outputSpecs, (string Name, Variable Variable)[] state, int opset, OnnxImportOptions options)
    {
        _plan = plan;
        _shapeInputs = probe.ShapeInputs.ToList();
        _static = probe.Graph != null;
        if (probe.Graph != null) _variants.Add(new Variant(probe.Graph, probe.Training, inputSpecs, new(StringComparer.Ordinal)));
        InputNames = inputNames;
        OutputNames = outputNames;
        InputSpecs = inputSpecs;
        OutputSpecs = outputSpecs;
        Opset = opset;
        _backend = options.Backend;
        if (options.BatchNormMomentum is { } bm && !(bm >= 0 && bm <= 1))
            throw new ArgumentOutOfRangeException(nameof(options), $"OnnxImportOptions.BatchNormMomentum must be in [0, 1], got {bm}.");
        _batchNormMomentum = options.BatchNormMomentum;
        Generator = new Generator(options.DropoutSeed);
        _state = new Variable[state.Length];
        for (int i = 0; i < state.Length; i++) _state[i] = RegisterVariable(state[i].Name, state[i].Variable);
    }

    /// <summary>The IR graph (verified).</summary>
    /// <exception cref="InvalidOperationException">The model has shape inputs (see <see cref="ShapeInputNames"/>), so its
    /// graph depends on their values: use <see cref="GraphFor(Tensor[])"/>.</exception>
    public Graph Graph => _static ? _variants[0].Graph
        : throw new InvalidOperationException($"The model's graph depends on the values of its shape input(s) {string.Join(", ", _shapeInputs)}; use GraphFor(inputs).");

    /// <summary>The model's (non-initializer) input names, in order.</summary>
    public IReadOnlyList<string> InputNames { get; }

    /// <summary>The model's output names, in order.</summary>
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>Specs of the model's inputs as declared (symbolic dims resolved with
    /// <see cref="OnnxImportOptions.SymbolicDimSize"/>); inputs of other shapes (same rank and dtype) get their own graph.</summary>
    public IReadOnlyList<TensorSpec> InputSpecs { get; }

    /// <summary>Specs of the outputs. For a model with shape inputs these are the types the model declares (open dims
    /// shown as <see cref="OnnxImportOptions.SymbolicDimSize"/>); the actual shapes depend on the shape-input values.</summary>
    public IReadOnlyList<TensorSpec> OutputSpecs { get; }

    /// <summary>Names of the inputs whose values the graph depends on, as found so far (at import, and by later builds);
    /// empty for a model with one static graph.</summary>
    public IReadOnlyList<string> ShapeInputNames => _shapeInputs;

    /// <summary>Number of graphs built and cached (1 for a model without shape inputs used with the declared input shapes).</summary>
    public int GraphCount => _variants.Count;

    /// <summary>The default-domain opset the model imports.</summary>
    public int Opset { get; }

    /// <summary>Draws the masks of Dropout nodes in training mode (seeded with <see cref="OnnxImportOptions.DropoutSeed"/>).</summary>
    public Generator Generator { get; }

    /// <summary>
    /// Names of the initializers that are state variables and are used by nodes that depend on the ONNX value
    /// <paramref name="valueName"/> (a node output or model input): the parameters of the part of the network after that
    /// point, e.g. to fine-tune the top: <c>model.Freeze(); model.Unfreeze(model.InitializersAfter("ReLU379_Output_0").Contains)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">No live node produces or reads <paramref name="valueName"/>.</exception>
    public IReadOnlySet<string> InitializersAfter(string valueName)
    {
        ArgumentNullException.ThrowIfNull(valueName);
        var reached = new HashSet<string>(StringComparer.Ordinal) { valueName };
        var state = new HashSet<string>(_state.Select(v => NameOf(v)), StringComparer.Ordinal);
        var result = new SortedSet<string>(StringComparer.Ordinal);
        bool known = InputNames.Contains(valueName);
        foreach (var n in _plan.Nodes)
        {
            known |= n.Output.Contains(valueName);
            if (!n.Input.Any(reached.Contains)) continue;
            foreach (var o in n.Output) reached.Add(o);
            foreach (var i in n.Input) if (state.Contains(i)) result.Add(i);
        }
        if (!known) throw new ArgumentException($"No node of the model produces '{valueName}' and it is not a model input.", nameof(valueName));
        return result;
    }

    // The ONNX name of a state variable: its key in this module's state dict.
    private string NameOf(Variable v) => FullName.Length == 0 ? v.Name : v.Name[(FullName.Length + 1)..];

    /// <summary>The graph used for these input values: <see cref="Graph"/>, or for a model with shape inputs the graph
    /// built (or cached) for their values.</summary>
    /// <exception cref="OnnxImportException">Building the graph for these values failed.</exception>
    public Graph GraphFor(params Tensor[] inputs)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        CheckInputs(inputs);
        return VariantFor(inputs).Graph;
    }

    /// <summary>Runs the model on the options' backend (or the default backend) without gradients.</summary>
    public Tensor[] Run(params Tensor[] inputs) => Run(_backend ?? BackendRegistry.Default, inputs);

    /// <summary>Runs the compiled graph on <paramref name="backend"/> (compiled once per backend and graph), without gradients
    /// and with inference semantics whatever the module's mode. Inputs on another backend are copied over; the state
    /// variables are passed with their current values.</summary>
    /// <exception cref="OnnxImportException">The model has shape inputs and building its graph for their values failed.</exception>
    public Tensor[] Run(IComputeBackend backend, params Tensor[] inputs)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(backend);
        CheckInputs(inputs);
        var v = VariantFor(inputs);
        if (!v.Compiled.TryGetValue(backend, out var exe)) v.Compiled[backend] = exe = backend.Compile(v.Graph);
        using var scope = TensorScope.Begin();
        var args = inputs.Concat(_state.Select(p => p.Value)).Select(t => On(t, backend)).ToArray();
        var result = exe.Run(args);
        scope.Keep(result);
        return result;
    }

    /// <summary>
    /// Applies the graph's nodes eagerly (through the dispatcher, so also inside a traced step) using the state variables'
    /// current values, so autograd records the computation and a loss can be backpropagated into the parameters. In
    /// training mode BatchNormalization and Dropout nodes behave as in training (see the class remarks).
    /// </summary>
    public Tensor[] Forward(Tensor[] inputs)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        CheckInputs(inputs);
        var variant = VariantFor(inputs);
        var graph = variant.Graph;
        var env = new Dictionary<Value, Tensor>(ReferenceEqualityComparer.Instance);
        var stateOf = new Dictionary<Value, Variable>(ReferenceEqualityComparer.Instance);
        int k = 0;
        foreach (var t in inputs) env[graph.Inputs[k++]] = t;
        foreach (var p in _state)
        {
            stateOf[graph.Inputs[k]] = p;
            env[graph.Inputs[k++]] = p.Value;
        }
        Tensor Get(Value v) => env.TryGetValue(v, out var t) ? t : Constant(variant, v);
        foreach (var n in graph.Nodes)
        {
            var args = n.Inputs.Select(Get).ToArray();
            Tensor[] outs;
            if (Training && variant.Training.BatchNormMomentum.TryGetValue(n, out var momentum) && !FrozenBatchNorm(n, stateOf))
                outs = [TrainingBatchNorm(n, args, _batchNormMomentum ?? 1 - momentum, stateOf)];
            else
            {
                outs = Dispatcher.ApplyMulti(n.Op, n.Attrs, args);
                if (Training && variant.Training.DropoutRatio.TryGetValue(n, out var ratio))
                    outs[0] = Ops.Dropout(outs[0], ratio, training: true, Generator);
            }
            for (int j = 0; j < outs.Length; j++) env[n.Outputs[j]] = outs[j];
        }
        return graph.Outputs.Select(Get).ToArray();
    }

    // Scale and bias both frozen (or constants): the node keeps inference mode in training (Keras's frozen BatchNormalization).
    private static bool FrozenBatchNorm(Node n, Dictionary<Value, Variable> stateOf) =>
        !(stateOf.TryGetValue(n.Inputs[1], out var scale) && scale.Trainable) && !(stateOf.TryGetValue(n.Inputs[2], out var bias) && bias.Trainable);

    // Batch statistics; the running statistics (when they are state) are replaced by PyTorch's update, the new batch
    // weighing newBatchWeight.
    private static Tensor TrainingBatchNorm(Node n, Tensor[] a, double newBatchWeight, Dictionary<Value, Variable> stateOf)
    {
        double eps = ((BatchNormAttrs)n.Attrs).Eps;
        var y = Ops.BatchNorm(a[0], a[1], a[2], a[3], a[4], training: true, newBatchWeight, eps, out var mean, out var variance);
        if (stateOf.TryGetValue(n.Inputs[3], out var rm)) rm.Assign(mean);
        if (stateOf.TryGetValue(n.Inputs[4], out var rv)) rv.Assign(variance);
        return y;
    }

    /// <summary>The first output of <see cref="Forward(Tensor[])"/> for a single-input model (how <see cref="Module.Call"/>,
    /// <see cref="Sequential"/> and the Trainer call it).</summary>
    public override Tensor Forward(Tensor input) => Forward([input])[0];

    private Variant VariantFor(Tensor[] inputs)
    {
        var specs = inputs.Select(t => t.Spec).ToArray();
        if (_static && _variants[0].Specs.SequenceEqual(specs)) return _variants[0];
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
            if (v.Specs.SequenceEqual(specs) && v.Key.All(e => Value(e.Key) is var (spec, data) && spec == e.Value.Spec && data.AsSpan().SequenceEqual(e.Value.Data)))
                return v;
        OnnxImporter.BuildResult built;
        try
        {
            built = _plan.Build(Value, specs);
        }
        catch (OnnxImporter.InitializerNeededException e)
        {
            throw new OnnxImportException($"With these input values the graph needs initializer '{e.Initializer}' as a constant, but it is a " +
                "state variable of the model; import with OnnxImportOptions.InitializersAsConstants.", e);
        }
        var key = new Dictionary<string, (TensorSpec Spec, byte[] Data)>(StringComparer.Ordinal);
        foreach (var name in built.ShapeInputs)
        {
            key[name] = Value(name);
            if (!_shapeInputs.Contains(name)) _shapeInputs.Add(name);
        }
        var variant = new Variant(built.Graph!, built.Training, specs, key);
        if (_variants.Count == MaxGraphs)
        {
            // The declared-shape graph of a static model stays (Graph returns it).
            int drop = _static ? 1 : 0;
            _variants[drop].Dispose();
            _variants.RemoveAt(drop);
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
            if (inputs[i].DType != InputSpecs[i].DType || inputs[i].Rank != InputSpecs[i].Shape.Rank)
                throw new ArgumentException($"Input {InputNames[i]} expects {InputSpecs[i]} (or another shape of the same rank), got {inputs[i].Spec}.", nameof(inputs));
    }

    private static Tensor On(Tensor t, IComputeBackend backend)
    {
        if (ReferenceEquals(t.Backend, backend)) return t;
        var b = t.ToBytes();
        return Tensor.FromBytes(b, t.Spec, backend);
    }

    /// <summary>Frees compiled executables, cached constants and (through the base) the state variables.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var v in _variants) v.Dispose();
        base.Dispose(disposing);
    }
}
