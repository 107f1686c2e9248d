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
/// <para>Inputs and outputs may be sequences of tensors or optionals (see <see cref="InputKinds"/>, <see cref="OutputKinds"/>):
/// pass and get them with <see cref="Run(IReadOnlyList{OnnxValue})"/>. The graph has only tensors: each element of a
/// sequence input, and the content of an optional one, is a graph input of its own, and the graph is built (and cached) per
/// structure of those inputs, i.e. the number of elements, each element's spec, and whether an optional holds a value; a
/// sequence or optional output is likewise a run of graph outputs.</para>
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
    private readonly OnnxImporter.BoundaryType[] _inputTypes;
    private readonly OnnxImporter.ValueLayout[] _tensorLayouts;

    // Run(Tensor[]) and Forward return tensors only: the first output that is not one (-1: none), found once.
    private readonly int _firstNonTensorOutput;

    /// <summary>One graph, for the input structure, graph-input specs and shape-input values in its key.</summary>
    private sealed class Variant(Graph graph, OnnxImporter.TrainingNodes training, TensorSpec[] specs, OnnxImporter.ValueLayout[] layouts,
        IReadOnlyList<OnnxImporter.ValueLayout> outputLayouts, Dictionary<string, (TensorSpec Spec, byte[] Data)> key) : IDisposable
    {
        public Graph Graph { get; } = graph;
        public OnnxImporter.TrainingNodes Training { get; } = training;
        public TensorSpec[] Specs { get; } = specs;
        public OnnxImporter.ValueLayout[] Layouts { get; } = layouts;
        public IReadOnlyList<OnnxImporter.ValueLayout> OutputLayouts { get; } = outputLayouts;
        public Dictionary<string, (TensorSpec Spec, byte[] Data)> Key { get; } = key;
        public Dictionary<IComputeBackend, IExecutable> Compiled { get; } = new(ReferenceEqualityComparer.Instance);

        // A symbolic graph: backends that could not compile it (their runs use graphs per shape), and the bindings to
        // the shapes Forward saw last.
        public HashSet<IComputeBackend> Unsupported { get; } = new(ReferenceEqualityComparer.Instance);
        public GraphBindingCache? Bindings { get; set; }
        public Dictionary<Value, Tensor> Constants { get; } = new(ReferenceEqualityComparer.Instance);

        public void Dispose()
        {
            foreach (var e in Compiled.Values) e.Dispose();
            foreach (var t in Constants.Values) t.Dispose();
        }
    }

    internal ImportedModel(OnnxImporter.ImportPlan plan, OnnxImporter.BuildResult probe, OnnxImporter.BoundaryType[] inputTypes, string[] inputNames, string[] outputNames,
        OnnxImporter.BoundaryType[] outputTypes, (string Name, Variable Variable)[] state, int opset, OnnxImportOptions options)
    {
        _plan = plan;
        _inputTypes = inputTypes;
        _tensorLayouts = inputTypes.Select(_ => OnnxImporter.ValueLayout.Tensor).ToArray();
        var inputSpecs = inputTypes.Select(t => t.Spec).ToArray();
        // Sequence and optional inputs are deferred by the probe; only tensor inputs are shape inputs.
        _shapeInputs = probe.ShapeInputs.Where(n => Array.IndexOf(inputNames, n) is var k && (k < 0 || inputTypes[k].Kind == OnnxValueKind.Tensor)).ToList();
        _static = probe.Graph != null;
        if (probe.Graph != null) _variants.Add(new Variant(probe.Graph, probe.Training, inputSpecs, _tensorLayouts, probe.OutputLayouts!, new(StringComparer.Ordinal)));
        // Generalised on first use (a run, or reading Graph or IsSymbolic): importing builds one graph, as without symbolic
        // dims, and a model that is only inspected or re-exported never pays for the sample builds.
        if (probe.Graph != null && options.SymbolicDims && inputTypes.Any(t => t.DimNames?.Any(d => d != null) == true))
            _pendingGeneralization = () => Generalize(inputTypes, probe);
        InputNames = inputNames;
        OutputNames = outputNames;
        InputSpecs = inputSpecs;
        OutputSpecs = outputTypes.Select(t => t.Spec).ToArray();
        InputKinds = inputTypes.Select(t => t.Kind).ToArray();
        OutputKinds = outputTypes.Select(t => t.Kind).ToArray();
        _firstNonTensorOutput = Array.FindIndex(outputTypes, t => t.Kind != OnnxValueKind.Tensor);
        Opset = opset;
        _backend = options.Backend;
        if (options.BatchNormMomentum is { } bm && !(bm >= 0 && bm <= 1))
            throw new ArgumentOutOfRangeException(nameof(options), $"OnnxImportOptions.BatchNormMomentum must be in [0, 1], got {bm}.");
        _batchNormMomentum = options.BatchNormMomentum;
        Generator = new Generator(options.DropoutSeed);
        _state = new Variable[state.Length];
        for (int i = 0; i < state.Length; i++) _state[i] = RegisterVariable(state[i].Name, state[i].Variable);
    }

    private Action? _pendingGeneralization;

    private void EnsureGeneralized()
    {
        if (_pendingGeneralization is not { } g) return;
        _pendingGeneralization = null;
        g();
    }

    // One graph for every size of the open input dims (see OnnxImportOptions.SymbolicDims): built at the sample sizes and
    // generalised; it replaces the probe's graph. Failing that, graphs stay per shape and the reason is kept.
    private void Generalize(OnnxImporter.BoundaryType[] inputTypes, OnnxImporter.BuildResult probe)
    {
        if (inputTypes.Any(t => t.Kind != OnnxValueKind.Tensor))
        {
            SymbolicFallbackReason = "the model has sequence or optional inputs";
            return;
        }
        var symbols = new List<DimSymbol>();
        for (int i = 0; i < inputTypes.Length; i++)
            for (int a = 0; a < (inputTypes[i].DimNames?.Count ?? 0); a++)
                if (inputTypes[i].DimNames![a] is { } name && symbols.All(s => s.Name != name)) symbols.Add(new DimSymbol(name, i, a));
        try
        {
            var points = SymbolicGraphs.SamplePoints(symbols.Select(s => s.Name).ToArray());
            var builds = points.Select(p => _plan.Build(null, inputTypes.Select(t => SpecAt(t, p)).ToArray())).ToArray();
            if (builds.Any(b => b.Graph == null || b.ShapeInputs.Count > 0))
            {
                SymbolicFallbackReason = "the graph depends on the values of shape inputs";
                return;
            }
            var graph = SymbolicGraphs.Generalize(builds.Select(b => b.Graph!).ToArray(), points, symbols);
            graph.Verify();
            _variants[0].Dispose();
            _variants[0] = new Variant(graph, builds[0].Training, graph.Inputs.Take(inputTypes.Length).Select(v => v.Spec).ToArray(), _tensorLayouts,
                builds[0].OutputLayouts!, new(StringComparer.Ordinal));
        }
        catch (Exception e) when (e is SymbolicShapeException or OnnxImportException or InvalidOperationException)
        {
            SymbolicFallbackReason = e.Message;
        }

        static TensorSpec SpecAt(OnnxImporter.BoundaryType t, IReadOnlyDictionary<string, long> point) =>
            new(new Shape(t.Spec.Shape.ToArray().Select((d, a) => t.DimNames![a] is { } n ? point[n] : d).ToArray()), t.Spec.DType);
    }

    /// <summary>True when one graph serves every size of the model's open input dims (<see cref="OnnxImportOptions.SymbolicDims"/>):
    /// <see cref="Graph"/> is that graph, with <see cref="Graph.Symbols"/>.</summary>
    public bool IsSymbolic
    {
        get
        {
            EnsureGeneralized();
            return _static && _variants[0].Graph.IsSymbolic;
        }
    }

    /// <summary>Why the model's open input dims could not stay symbolic (graphs are then built per input shape); null
    /// when they did, or when the model has none or <see cref="OnnxImportOptions.SymbolicDims"/> is off.</summary>
    public string? SymbolicFallbackReason
    {
        get
        {
            EnsureGeneralized();
            return _symbolicFallbackReason;
        }
        private set => _symbolicFallbackReason = value;
    }

    private string? _symbolicFallbackReason;

    /// <summary>The IR graph (verified).</summary>
    /// <exception cref="InvalidOperationException">The model has shape inputs (see <see cref="ShapeInputNames"/>), so its
    /// graph depends on their values: use <see cref="GraphFor(Tensor[])"/>; or sequence or optional inputs, whose structure
    /// it depends on: use <see cref="GraphFor(IReadOnlyList{OnnxValue})"/>.</exception>
    public Graph Graph => _static ? Generalized()._variants[0].Graph
        : _shapeInputs.Count > 0 || InputKinds.All(k => k == OnnxValueKind.Tensor)
        ? throw new InvalidOperationException($"The model's graph depends on the values of its shape input(s) {string.Join(", ", _shapeInputs)}; use GraphFor(inputs).")
        : throw new InvalidOperationException($"The model's graph depends on the structure of its sequence or optional input(s) {string.Join(", ", NonTensorInputs)}; use GraphFor(inputs).");

    private ImportedModel Generalized()
    {
        EnsureGeneralized();
        return this;
    }

    private IEnumerable<string> NonTensorInputs => InputNames.Where((_, i) => InputKinds[i] != OnnxValueKind.Tensor);

    /// <summary>The model's (non-initializer) input names, in order.</summary>
    public IReadOnlyList<string> InputNames { get; }

    /// <summary>The model's output names, in order.</summary>
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>Specs of the model's inputs as declared (symbolic dims resolved with
    /// <see cref="OnnxImportOptions.SymbolicDimSize"/>); inputs of other shapes (same rank and dtype) get their own graph.
    /// For a sequence input, or an optional one, the spec its (elements') tensors are declared with: only the dtype is
    /// checked, and the dims are empty when the model leaves the element shape open.</summary>
    public IReadOnlyList<TensorSpec> InputSpecs { get; }

    /// <summary>Specs of the outputs. For a model with shape inputs these are the types the model declares (open dims
    /// shown as <see cref="OnnxImportOptions.SymbolicDimSize"/>); the actual shapes depend on the shape-input values. For
    /// a sequence or optional output, the declared spec of its (elements') tensors.</summary>
    public IReadOnlyList<TensorSpec> OutputSpecs { get; }

    /// <summary>Whether each input is a tensor, a sequence of tensors or an optional; inputs that are not all tensors are
    /// passed with <see cref="Run(IReadOnlyList{OnnxValue})"/>.</summary>
    public IReadOnlyList<OnnxValueKind> InputKinds { get; }

    /// <summary>Whether each output is a tensor, a sequence of tensors or an optional; outputs that are not all tensors are
    /// returned by <see cref="Run(IReadOnlyList{OnnxValue})"/> only.</summary>
    public IReadOnlyList<OnnxValueKind> OutputKinds { get; }

    /// <summary>Names of the inputs whose values the graph depends on, as found so far (at import, and by later builds);
    /// empty for a model with one static graph.</summary>
    public IReadOnlyList<string> ShapeInputNames => _shapeInputs;

    /// <summary>Number of compilations of a graph for a backend so far (runs reuse them: one per backend for a symbolic
    /// model).</summary>
    public int CompileCount { get; private set; }

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
        return VariantFor(inputs, _tensorLayouts, null).Graph;
    }

    /// <summary>The graph used for these input values, which may be sequences or optionals: its inputs are the tensors of
    /// the values in order (a sequence's elements, an optional's content if any), then the state variables.</summary>
    /// <exception cref="OnnxImportException">Building the graph for these values failed.</exception>
    public Graph GraphFor(IReadOnlyList<OnnxValue> inputs)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        CheckValues(inputs);
        return VariantFor(inputs.SelectMany(OnnxImporter.ValueLayout.Flatten).ToArray(), inputs.Select(OnnxImporter.ValueLayout.Of).ToArray(), null).Graph;
    }

    /// <summary>Runs the model on the options' backend (or the default backend) without gradients.</summary>
    public Tensor[] Run(params Tensor[] inputs) => Run(_backend ?? BackendRegistry.Default, inputs);

    /// <summary>Runs the compiled graph on <paramref name="backend"/> (compiled once per backend and graph), without gradients
    /// and with inference semantics whatever the module's mode. Inputs on another backend are copied over; the state
    /// variables are passed with their current values.</summary>
    /// <exception cref="OnnxImportException">The model has shape inputs and building its graph for their values failed, or an output the model declares a tensor is computed as a sequence or optional.</exception>
    /// <exception cref="InvalidOperationException">An output is a sequence or optional: use <see cref="Run(IComputeBackend, IReadOnlyList{OnnxValue})"/>.</exception>
    public Tensor[] Run(IComputeBackend backend, params Tensor[] inputs)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(backend);
        CheckInputs(inputs);
        CheckTensorOutputs();
        return RunFlat(backend, inputs, _tensorLayouts).Outputs;
    }

    /// <summary>Runs the model on the options' backend (or the default backend) without gradients, with inputs and outputs
    /// that may be sequences or optionals (see <see cref="InputKinds"/>, <see cref="OutputKinds"/>).</summary>
    public OnnxValue[] Run(IReadOnlyList<OnnxValue> inputs) => Run(_backend ?? BackendRegistry.Default, inputs);

    /// <summary>As <see cref="Run(IComputeBackend, Tensor[])"/>, with inputs and outputs that may be sequences or optionals:
    /// the graph is built (and cached) per structure of the sequence and optional inputs.</summary>
    /// <exception cref="ArgumentException">An input is not of the kind or dtype the model declares.</exception>
    /// <exception cref="OnnxImportException">Building the graph for these inputs failed, or an output is not of the kind
    /// the model declares.</exception>
    public OnnxValue[] Run(IComputeBackend backend, IReadOnlyList<OnnxValue> inputs)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(backend);
        CheckValues(inputs);
        var (outs, layouts) = RunFlat(backend, inputs.SelectMany(OnnxImporter.ValueLayout.Flatten).ToArray(), inputs.Select(OnnxImporter.ValueLayout.Of).ToArray());
        var result = new OnnxValue[layouts.Count];
        int k = 0;
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = layouts[i].Assemble(outs[k..(k + layouts[i].Count)]);
            k += layouts[i].Count;
        }
        return result;
    }

    private static string Lower(OnnxValueKind k) => k.ToString().ToLowerInvariant();

    // "a tensor", "a sequence", "an optional".
    private static string A(OnnxValueKind k) => (k == OnnxValueKind.Optional ? "an " : "a ") + Lower(k);

    // Runs the graph for these graph-input tensors and input structure; returns its outputs and the output layouts.
    private (Tensor[] Outputs, IReadOnlyList<OnnxImporter.ValueLayout> Layouts) RunFlat(IComputeBackend backend, Tensor[] inputs, OnnxImporter.ValueLayout[] layouts)
    {
        var v = VariantFor(inputs, layouts, backend);
        // Outputs that are all empty sequences or optionals leave nothing to compute.
        if (v.Graph.Outputs.Count == 0) return ([], v.OutputLayouts);
        if (v.Graph.IsSymbolic)
        {
            try
            {
                return RunOn(v, backend, inputs);
            }
            catch (Exception e) when (e is SymbolicShapeException or NotSupportedException)
            {
                // This backend cannot lower the symbolic graph, or an op cannot take these sizes: a graph for these shapes.
                if (e is NotSupportedException) v.Unsupported.Add(backend);
                return RunOn(VariantFor(inputs, layouts, backend, symbolic: false), backend, inputs);
            }
        }
        return RunOn(v, backend, inputs);
    }

    private (Tensor[] Outputs, IReadOnlyList<OnnxImporter.ValueLayout> Layouts) RunOn(Variant v, IComputeBackend backend, Tensor[] inputs)
    {
        if (!v.Compiled.TryGetValue(backend, out var exe))
        {
            v.Compiled[backend] = exe = backend.Compile(v.Graph);
            CompileCount++;
        }
        using var scope = TensorScope.Begin();
        var state = StateOn(backend);
        var args = inputs.Select(t => On(t, backend)).Concat(state).ToArray();
        var result = exe.Run(args);
        // An output that is a state tensor itself (a model returning an initializer) is the caller's own copy.
        for (int i = 0; i < result.Length; i++)
            if (Array.IndexOf(state, result[i]) >= 0) result[i] = Tensor.FromBytes(result[i].ToBytes(), result[i].Spec, backend);
        scope.Keep(result);
        return (result, v.OutputLayouts);
    }

    /// <summary>
    /// Applies the graph's nodes eagerly (through the dispatcher, so also inside a traced step) using the state variables'
    /// current values, so autograd records the computation and a loss can be backpropagated into the parameters. In
    /// training mode BatchNormalization and Dropout nodes behave as in training (see the class remarks).
    /// </summary>
    /// <exception cref="InvalidOperationException">An output is a sequence or optional (only <see cref="Run(IReadOnlyList{OnnxValue})"/> returns those).</exception>
    public Tensor[] Forward(Tensor[] inputs)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        CheckInputs(inputs);
        CheckTensorOutputs();
        var variant = VariantFor(inputs, _tensorLayouts, null);
        var graph = variant.Graph;
        var binding = graph.IsSymbolic ? BindingFor(variant, inputs) : null;
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
        for (int index = 0; index < graph.Nodes.Count; index++)
        {
            var n = graph.Nodes[index];
            var args = n.Inputs.Select(Get).ToArray();
            Tensor[] outs;
            if (Training && variant.Training.BatchNormMomentum.TryGetValue(n, out var momentum) && !FrozenBatchNorm(n, stateOf))
                outs = [TrainingBatchNorm(n, args, _batchNormMomentum ?? 1 - momentum, stateOf)];
            else
            {
                outs = Dispatcher.ApplyMulti(n.Op, binding?.AttrsOf(index) ?? n.Attrs, args);
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

    // The binding of a symbolic graph to these inputs' shapes and the state's.
    private GraphBinding BindingFor(Variant v, Tensor[] inputs) =>
        (v.Bindings ??= new GraphBindingCache(v.Graph)).For([.. inputs, .. _state.Select(p => p.Value)]);

    // Whether the symbolic graph takes inputs of these specs: dtypes, ranks and fixed dims as declared, one size per symbol.
    private static bool Accepts(Graph g, TensorSpec[] specs)
    {
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < specs.Length; i++)
        {
            var v = g.Inputs[i];
            if (specs[i].DType != v.Spec.DType || specs[i].Shape.Rank != v.Spec.Shape.Rank) return false;
            for (int a = 0; a < specs[i].Shape.Rank; a++)
            {
                var d = v.DimAt(a);
                long size = specs[i].Shape[a];
                if (d.SymbolName is { } n) { if (sizes.TryGetValue(n, out var seen) && seen != size) return false; sizes[n] = size; }
                else if (!d.IsConstant || d.Value != size) return false;
            }
        }
        return true;
    }

    // The graph for these graph-input tensors (the model's tensor inputs, the elements of its sequence inputs and the
    // contents of its optional ones, laid out as `layouts` says). The symbolic graph serves every shape it accepts, unless
    // `symbolic` is false or the backend cannot compile it.
    private Variant VariantFor(Tensor[] inputs, OnnxImporter.ValueLayout[] layouts, IComputeBackend? backend, bool symbolic = true)
    {
        EnsureGeneralized();
        var specs = inputs.Select(t => t.Spec).ToArray();
        if (_static && _variants[0].Layouts.SequenceEqual(layouts))
        {
            var first = _variants[0];
            if (first.Graph.IsSymbolic)
            {
                if (symbolic && (backend == null || !first.Unsupported.Contains(backend)) && Accepts(first.Graph, specs)) return first;
            }
            else if (first.Specs.SequenceEqual(specs)) return first;
        }
        var names = GraphInputNames(layouts);
        var host = new Dictionary<string, (TensorSpec Spec, byte[] Data)>(StringComparer.Ordinal);
        (TensorSpec Spec, byte[] Data) Value(string name)
        {
            if (host.TryGetValue(name, out var h)) return h;
            int i = Array.IndexOf(names, name);
            var t = inputs[i];
            var bytes = t.ToBytes();
            return host[name] = (t.Spec, bytes);
        }
        foreach (var v in _variants)
            if (!v.Graph.IsSymbolic && v.Specs.SequenceEqual(specs) && v.Layouts.SequenceEqual(layouts) && v.Key.All(e => Value(e.Key) is var (spec, data) && spec == e.Value.Spec && data.AsSpan().SequenceEqual(e.Value.Data)))
                return v;
        OnnxImporter.BuildResult built;
        try
        {
            built = _plan.Build(Value, specs, layouts);
        }
        catch (OnnxImporter.InitializerNeededException e)
        {
            throw new OnnxImportException($"With these input values the graph needs initializer '{e.Initializer}' as a constant, but it is a " +
                "state variable of the model; import with OnnxImportOptions.InitializersAsConstants.", e);
        }
        for (int i = 0; i < OutputKinds.Count; i++)
            if (built.OutputLayouts![i].Kind != OutputKinds[i])
                throw new OnnxImportException($"Output '{OutputNames[i]}' is declared {A(OutputKinds[i])}, but the model computes {A(built.OutputLayouts[i].Kind)}.");
        var key = new Dictionary<string, (TensorSpec Spec, byte[] Data)>(StringComparer.Ordinal);
        foreach (var name in built.ShapeInputs)
        {
            key[name] = Value(name);
            if (!_shapeInputs.Contains(name)) _shapeInputs.Add(name);
        }
        var variant = new Variant(built.Graph!, built.Training, specs, layouts, built.OutputLayouts!, key);
        if (_variants.Count == MaxGraphs)
        {
            // The declared-shape (or symbolic) graph of a static model stays (Graph returns it).
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

    // The names the graph's inputs stand for (as the importer names them, so shape-input values are found by name): a
    // tensor input's name; element k of a sequence input (also inside an optional) as name[k].
    private string[] GraphInputNames(OnnxImporter.ValueLayout[] layouts) =>
        layouts.SelectMany((l, i) => l.Kind == OnnxValueKind.Tensor || l is { Kind: OnnxValueKind.Optional, Element: OnnxValueKind.Tensor }
            ? [InputNames[i]] : Enumerable.Range(0, l.Count).Select(k => $"{InputNames[i]}[{k}]")).ToArray();

    private void CheckInputs(Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length != InputSpecs.Count)
            throw new ArgumentException($"The model takes {InputSpecs.Count} input(s) ({string.Join(", ", InputNames)}), got {inputs.Length}.", nameof(inputs));
        for (int i = 0; i < inputs.Length; i++)
        {
            if (InputKinds[i] != OnnxValueKind.Tensor)
                throw new ArgumentException($"Input {InputNames[i]} is {A(InputKinds[i])}; pass the inputs as OnnxValues (Run(IReadOnlyList<OnnxValue>)).", nameof(inputs));
            CheckTensor(InputNames[i], inputs[i], InputSpecs[i], nameof(inputs));
        }
    }

    private static void CheckTensor(string name, Tensor t, TensorSpec spec, string param)
    {
        if (t.DType != spec.DType || t.Rank != spec.Shape.Rank)
            throw new ArgumentException($"Input {name} expects {spec} (or another shape of the same rank), got {t.Spec}.", param);
    }

    private void CheckValues(IReadOnlyList<OnnxValue> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count != InputSpecs.Count)
            throw new ArgumentException($"The model takes {InputSpecs.Count} input(s) ({string.Join(", ", InputNames)}), got {inputs.Count}.", nameof(inputs));
        for (int i = 0; i < inputs.Count; i++)
        {
            var (type, value, name) = (_inputTypes[i], inputs[i], InputNames[i]);
            if (value is null) throw new ArgumentNullException(nameof(inputs), $"Input {name} is null.");
            if (value.Kind != type.Kind)
                throw new ArgumentException($"Input {name} is {A(type.Kind)} of {type.Spec.DType.Name()}, got: {value}.", nameof(inputs));
            var content = value.Kind == OnnxValueKind.Optional ? value.Element : value;
            if (content == null) continue;
            if (value.Kind == OnnxValueKind.Optional && content.Kind != type.Inner)
                throw new ArgumentException($"Input {name} is an optional {Lower(type.Inner)} of {type.Spec.DType.Name()}, got: {value}.", nameof(inputs));
            if (content.Kind == OnnxValueKind.Tensor) CheckTensor(name, content.Tensor, type.Spec, nameof(inputs));
            else if (content.Elements.FirstOrDefault(t => t.DType != type.Spec.DType) is { } bad)
                throw new ArgumentException($"Input {name} is a sequence of {type.Spec.DType.Name()}, got an element {bad.Spec}.", nameof(inputs));
        }
    }

    private void CheckTensorOutputs()
    {
        int k = _firstNonTensorOutput;
        if (k >= 0)
            throw new InvalidOperationException($"Output {OutputNames[k]} is {A(OutputKinds[k])}; use Run(IReadOnlyList<OnnxValue>), which returns OnnxValues.");
    }

    // Copies of the state variables on another backend, kept until a variable's value changes (a new tensor, or a new handle
    // from a compiled step): running on a backend the weights do not live on copies them once, not on every call.
    private readonly Dictionary<IComputeBackend, (Tensor Source, object Handle, Tensor Copy)[]> _stateCopies = new(ReferenceEqualityComparer.Instance);

    private Tensor[] StateOn(IComputeBackend backend)
    {
        var result = new Tensor[_state.Length];
        (Tensor Source, object Handle, Tensor Copy)[]? copies = null;
        for (int i = 0; i < result.Length; i++)
        {
            var v = _state[i].Value;
            if (ReferenceEquals(v.Backend, backend)) { result[i] = v; continue; }
            if (copies == null && !_stateCopies.TryGetValue(backend, out copies)) _stateCopies[backend] = copies = new (Tensor, object, Tensor)[_state.Length];
            var c = copies[i];
            if (c.Copy == null || !ReferenceEquals(c.Source, v) || !ReferenceEquals(c.Handle, v.Handle) || c.Copy.IsDisposed)
            {
                c.Copy?.Dispose();
                copies[i] = c = (v, v.Handle, On(v, backend).DetachFromScope());
            }
            result[i] = c.Copy;
        }
        return result;
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
        {
            foreach (var v in _variants) v.Dispose();
            foreach (var copies in _stateCopies.Values)
                foreach (var c in copies) c.Copy?.Dispose();
            _stateCopies.Clear();
        }
        base.Dispose(disposing);
    }
}
