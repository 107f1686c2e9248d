using DualFramework.IR;
using DualFramework.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace DualFramework.GraphBackend;

/// <summary>
/// A whole graph lowered to one ONNX model and run by one ONNX Runtime session. Outputs are allocated per run and filled
/// in place by ONNX Runtime; they become the handles of the returned tensors (no copy).
/// </summary>
internal sealed class OrtExecutable : IStatefulExecutable
{
    // Ping-pong state: for state output j, the two buffers that alternate between the variable's tensor and the output
    // binding; one IoBinding per phase has the state inputs and outputs bound once, so a steady step only rebinds the
    // arguments and results.
    private OrtValue[]? _pingA, _pingB;
    private OrtIoBinding?[] _bindings = new OrtIoBinding?[2];
    private int _phase;
    private int[]? _stateInputs;

    private readonly GraphBackend _backend;
    private readonly InferenceSession _session;
    private readonly string[] _inputNames, _outputNames;
    private readonly TensorSpec[] _inputSpecs, _outputSpecs;
    private readonly RunOptions _run = new();

    public OrtExecutable(GraphBackend backend, DualFramework.IR.Graph graph)
    {
        _backend = backend;
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

    public Tensor[] RunUpdatingState(Tensor[] inputs, int results, int[] stateInputs)
    {
        Check(inputs);
        if (results + stateInputs.Length != _outputSpecs.Length)
            throw new ArgumentException($"{results} results and {stateInputs.Length} state outputs do not match the graph's {_outputSpecs.Length} outputs.");
        if (!Continues(inputs, stateInputs)) Reset(inputs, stateInputs);
        var binding = _bindings[_phase] ??= CreateBinding(_phase, stateInputs, results);
        var stateSet = new HashSet<int>(stateInputs);
        for (int i = 0; i < inputs.Length; i++)
            if (!stateSet.Contains(i)) binding.BindInput(_inputNames[i], (OrtValue)inputs[i].Handle);
        var outs = new Tensor[results];
        for (int i = 0; i < results; i++)
        {
            var v = OpSession.Allocate(_outputSpecs[i]);
            binding.BindOutput(_outputNames[i], v);
            outs[i] = Tensor.Wrap(_backend, v, _outputSpecs[i]);
        }
        _session.RunWithBinding(_run, binding);
        // The written buffers become the variables' values; the previous ones become the next step's output buffers.
        var written = _phase == 0 ? _pingB! : _pingA!;
        for (int j = 0; j < stateInputs.Length; j++)
        {
            object h = written[j];
            inputs[stateInputs[j]].SwapHandle(ref h);
        }
        _phase ^= 1;
        return outs;
    }

    // True when every state input still holds the buffer this executable expects in the current phase.
    private bool Continues(Tensor[] inputs, int[] stateInputs)
    {
        if (_stateInputs == null || !_stateInputs.AsSpan().SequenceEqual(stateInputs)) return false;
        var current = _phase == 0 ? _pingA! : _pingB!;
        for (int j = 0; j < stateInputs.Length; j++)
            if (!ReferenceEquals(inputs[stateInputs[j]].Handle, current[j])) return false;
        return true;
    }

    // Adopts the state tensors' current buffers as phase-0 inputs and allocates the other half of each pair.
    private void Reset(Tensor[] inputs, int[] stateInputs)
    {
        DisposeBindings();
        var spare = _phase == 0 ? _pingB : _pingA;
        if (spare != null) foreach (var v in spare) v.Dispose();
        _stateInputs = stateInputs.ToArray();
        _pingA = stateInputs.Select(i => (OrtValue)inputs[i].Handle).ToArray();
        _pingB = stateInputs.Select(i => OpSession.Allocate(_inputSpecs[i])).ToArray();
        _phase = 0;
    }

    private OrtIoBinding CreateBinding(int phase, int[] stateInputs, int results)
    {
        var binding = _session.CreateIoBinding();
        var ins = phase == 0 ? _pingA! : _pingB!;
        var outs = phase == 0 ? _pingB! : _pingA!;
        for (int j = 0; j < stateInputs.Length; j++)
        {
            binding.BindInput(_inputNames[stateInputs[j]], ins[j]);
            binding.BindOutput(_outputNames[results + j], outs[j]);
        }
        return binding;
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

    private void DisposeBindings()
    {
        foreach (var b in _bindings) b?.Dispose();
        _bindings = new OrtIoBinding?[2];
    }

    public void Dispose()
    {
        DisposeBindings();
        // The spare half of each pair belongs to this executable; the other half is the variables' current value.
        var spare = _phase == 0 ? _pingB : _pingA;
        if (spare != null) foreach (var v in spare) v.Dispose();
        _session.Dispose();
        _run.Dispose();
    }
}
