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
        Check(inputs);
        var values = new OrtValue[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) values[i] = (OrtValue)inputs[i].Handle;
        var outs = new OrtValue[_outputSpecs.Length];
        for (int i = 0; i < outs.Length; i++) outs[i] = OpSession.Allocate(_outputSpecs[i]);
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
        for (int i = 0; i < outs.Length; i++) result[i] = Tensor.Wrap(_backend, outs[i], _outputSpecs[i]);
        return result;
    }

    public void PrepareSteps(ReadOnlySpan<StepInput> inputs, int results)
    {
        var runner = new OrtStepRunner(_backend, _session, _run, _inputNames, _outputNames, _inputSpecs, _outputSpecs, inputs, results);
        _steps?.Dispose();
        _steps = runner;
    }

    public ReadOnlySpan<Tensor> RunStep(scoped ReadOnlySpan<Tensor> state, scoped ReadOnlySpan<Tensor> args, scoped ReadOnlySpan<double> scalars) =>
        (_steps ?? throw new InvalidOperationException("PrepareSteps was not called.")).Run(state, args, scalars);

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
        _steps?.Dispose();
        _session.Dispose();
        _run.Dispose();
    }
}
