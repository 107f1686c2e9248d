using DualFramework.IR;
using DualFramework.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace DualFramework.OnnxRuntime;

/// <summary>
/// A whole graph lowered to one ONNX model and run by one ONNX Runtime session. <see cref="Run"/> allocates the outputs per
/// run (ONNX Runtime fills them in place; they become the handles of the returned tensors); steady-state steps go through an
/// <see cref="OrtStepRunner"/> with everything bound once.
/// </summary>
internal sealed class OrtExecutable : IStepExecutable
{
    private OrtStepRunner? _steps;

    private readonly GraphBackend _backend;
    private readonly InferenceSession _session;
    private readonly string[] _inputNames, _outputNames;
    private readonly TensorSpec[] _inputSpecs, _outputSpecs;
    private readonly RunOptions _run = new();

    /// <summary>The graph as lowered, after the backend's own passes (tests and diagnostics read its dump).</summary>
    internal DualFramework.IR.Graph Graph { get; }

    public OrtExecutable(GraphBackend backend, DualFramework.IR.Graph graph)
    {
        _backend = backend;
        Graph = graph;
        _session = new InferenceSession(OnnxExporter.ToBytes(graph), backend.Options);
        _inputNames = _session.InputNames.ToArray();
        _outputNames = _session.OutputNames.ToArray();
        _inputSpecs = graph.Inputs.Select(v => v.Spec).ToArray();
        _outputSpecs = graph.Outputs.Select(v => v.Spec).ToArray();
        if (_inputNames.Length != _inputSpecs.Length || _outputNames.Length != _outputSpecs.Length)
            throw new InvalidOperationException($"The ONNX model of graph has {_inputNames.Length} inputs / {_outputNames.Length} outputs; the graph has {_inputSpecs.Length} / {_outputSpecs.Length}.");
    }

    public Tensor[] Run(Tensor[] inputs)
    {
        var outputSpecs = Graph.IsSymbolic ? BindingFor(inputs).OutputSpecs : _outputSpecs;
        if (!Graph.IsSymbolic) Check(inputs);
        var values = new OrtValue[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) values[i] = (OrtValue)inputs[i].Handle;
        var outs = new OrtValue[_outputSpecs.Length];
        for (int i = 0; i < outs.Length; i++) outs[i] = OpSession.Allocate(outputSpecs[i]);
        try
        {
            _session.Run(_run, _inputNames, values, _outputNames, outs);
            GC.KeepAlive(inputs); // the tensors own the OrtValues whose buffers ONNX Runtime just read
        }
        catch
        {
            foreach (var o in outs) o.Dispose();
            throw;
        }
        var result = new Tensor[outs.Length];
        for (int i = 0; i < outs.Length; i++) result[i] = Tensor.Wrap(_backend, outs[i], outputSpecs[i]);
        return result;
    }

    // A symbolic graph's binding to these inputs' shapes (checks them and gives the output shapes).
    private GraphBindingCache? _bindings;

    private GraphBinding BindingFor(Tensor[] inputs)
    {
        if (inputs.Length != _inputSpecs.Length)
            throw new ArgumentException($"The compiled graph takes {_inputSpecs.Length} inputs, got {inputs.Length}.", nameof(inputs));
        for (int i = 0; i < inputs.Length; i++)
            if (!ReferenceEquals(inputs[i].Backend, _backend))
                throw new ArgumentException($"Input {i} lives on backend '{inputs[i].Backend.Name}', not on 'graph'.", nameof(inputs));
        return (_bindings ??= new GraphBindingCache(Graph)).For(inputs);
    }

    public void PrepareSteps(ReadOnlySpan<StepInput> inputs, int results)
    {
        if (Graph.IsSymbolic)
        {
            // Runners are bound per argument shape, on first use (RunStep).
            _feeds = inputs.ToArray();
            _stepResults = results;
            DisposeRunners();
            return;
        }
        var runner = new OrtStepRunner(_backend, _session, _run, _inputNames, _outputNames, _inputSpecs, _outputSpecs, inputs, results);
        _steps?.Dispose();
        _steps = runner;
    }

    public ReadOnlySpan<Tensor> RunStep(scoped ReadOnlySpan<Tensor> state, scoped ReadOnlySpan<Tensor> args, scoped ReadOnlySpan<double> scalars) =>
        (Graph.IsSymbolic ? RunnerFor(state, args) : _steps ?? throw new InvalidOperationException("PrepareSteps was not called.")).Run(state, args, scalars);

    // A graph with symbolic dims: one bound runner per argument shape (its buffers have that shape), the most recent
    // first; a steady shape finds its runner without allocating, a new one binds once. Few are kept: each holds buffers.
    private StepInput[]? _feeds;
    private int _stepResults;
    private readonly List<(TensorSpec[] Args, OrtStepRunner Runner)> _runners = [];
    private const int MaxRunners = 3;

    private OrtStepRunner RunnerFor(ReadOnlySpan<Tensor> state, ReadOnlySpan<Tensor> args)
    {
        var feeds = _feeds ?? throw new InvalidOperationException("PrepareSteps was not called.");
        for (int r = 0; r < _runners.Count; r++)
        {
            var specs = _runners[r].Args;
            bool same = specs.Length == args.Length;
            for (int i = 0; same && i < args.Length; i++) same = specs[i] == args[i].Spec;
            if (!same) continue;
            if (r > 0)
            {
                var hit = _runners[r];
                _runners.RemoveAt(r);
                _runners.Insert(0, hit);
            }
            return _runners[0].Runner;
        }
        var inputs = new TensorSpec[feeds.Length];
        for (int i = 0; i < feeds.Length; i++)
            inputs[i] = feeds[i].Kind switch
            {
                StepInputKind.State => state[feeds[i].Index].Spec,
                StepInputKind.Argument => args[feeds[i].Index].Spec,
                _ => _inputSpecs[i],
            };
        var outputs = Graph.Bind(inputs).OutputSpecs.ToArray();
        var runner = new OrtStepRunner(_backend, _session, _run, _inputNames, _outputNames, inputs, outputs, feeds, _stepResults);
        if (_runners.Count == MaxRunners)
        {
            _runners[^1].Runner.Dispose();
            _runners.RemoveAt(_runners.Count - 1);
        }
        var argSpecs = new TensorSpec[args.Length];
        for (int i = 0; i < args.Length; i++) argSpecs[i] = args[i].Spec;
        _runners.Insert(0, (argSpecs, runner));
        return runner;
    }

    private void DisposeRunners()
    {
        foreach (var (_, r) in _runners) r.Dispose();
        _runners.Clear();
    }

    private void Check(Tensor[] inputs)
    {
        if (inputs.Length != _inputSpecs.Length)
            throw new ArgumentException($"The compiled graph takes {_inputSpecs.Length} inputs ({string.Join(", ", _inputSpecs)}), got {inputs.Length}.", nameof(inputs));
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputs[i].Spec != _inputSpecs[i])
                throw new ArgumentException($"Input {i} is {inputs[i].Spec}; the compiled graph expects {_inputSpecs[i]}.", nameof(inputs));
            if (!ReferenceEquals(inputs[i].Backend, _backend))
                throw new ArgumentException($"Input {i} lives on backend '{inputs[i].Backend.Name}', not on 'graph'.", nameof(inputs));
        }
    }

    public void Dispose()
    {
        DisposeRunners();
        _steps?.Dispose();
        _session.Dispose();
        _run.Dispose();
    }
}
