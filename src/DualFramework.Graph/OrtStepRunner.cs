using System.Runtime.InteropServices;
using DualFramework.IR;
using Microsoft.ML.OnnxRuntime;

namespace DualFramework.OnnxRuntime;

/// <summary>
/// The steady-state runner of an <see cref="OrtExecutable"/>: every graph input and output is bound once to an
/// <see cref="OrtValue"/> owned here or by a state tensor, in one <see cref="OrtIoBinding"/> per ping-pong phase, so a step
/// only copies the arguments in, writes the host scalars, runs the binding and swaps the state buffers — no managed
/// allocation (ONNX Runtime's <c>RunWithBinding</c> allocates none either; re-binding would, for the name's UTF-8 bytes).
/// </summary>
internal sealed class OrtStepRunner : IDisposable
{
    private readonly GraphBackend _backend;
    private readonly InferenceSession _session;
    private readonly RunOptions _run;
    private readonly string[] _inputNames, _outputNames;
    private readonly TensorSpec[] _inputSpecs, _outputSpecs;
    private readonly int[] _stateInput, _argInput, _scalarInput;
    private readonly OrtValue[] _argBuffers, _scalarBuffers;
    private readonly Tensor[] _results;

    // Ping-pong state: for state j, the two buffers that alternate between the state tensor (read) and the output binding
    // (written). In phase 0 the state tensors hold _pingA and the step writes _pingB; in phase 1 the reverse. The buffer a
    // state tensor holds belongs to it; the other one (the spare) belongs to this runner.
    private OrtValue[]? _pingA, _pingB;
    private readonly OrtIoBinding?[] _bindings = new OrtIoBinding?[2];
    private int _phase;

    public OrtStepRunner(GraphBackend backend, InferenceSession session, RunOptions run, string[] inputNames, string[] outputNames,
        TensorSpec[] inputSpecs, TensorSpec[] outputSpecs, ReadOnlySpan<StepInput> inputs, int results)
    {
        if (inputs.Length != inputSpecs.Length)
            throw new ArgumentException($"{inputs.Length} input feeds for a graph of {inputSpecs.Length} inputs.", nameof(inputs));
        int Count(StepInputKind k, ReadOnlySpan<StepInput> all)
        {
            int n = 0;
            foreach (var s in all) if (s.Kind == k) n = Math.Max(n, s.Index + 1);
            return n;
        }
        _stateInput = Map(inputs, StepInputKind.State, Count(StepInputKind.State, inputs));
        _argInput = Map(inputs, StepInputKind.Argument, Count(StepInputKind.Argument, inputs));
        _scalarInput = Map(inputs, StepInputKind.Scalar, Count(StepInputKind.Scalar, inputs));
        if (results < 0 || results + _stateInput.Length != outputSpecs.Length)
            throw new ArgumentException($"{results} results and {_stateInput.Length} state outputs do not match the graph's {outputSpecs.Length} outputs.");
        _backend = backend;
        _session = session;
        _run = run;
        _inputNames = inputNames;
        _outputNames = outputNames;
        _inputSpecs = inputSpecs;
        _outputSpecs = outputSpecs;
        for (int j = 0; j < _stateInput.Length; j++)
            if (inputSpecs[_stateInput[j]] != outputSpecs[results + j])
                throw new ArgumentException($"State {j} is read as {inputSpecs[_stateInput[j]]} but written as {outputSpecs[results + j]}.");
        _argBuffers = _argInput.Select(i => OpSession.Allocate(inputSpecs[i])).ToArray();
        _scalarBuffers = _scalarInput.Select(i => OpSession.Allocate(inputSpecs[i])).ToArray();
        _results = new Tensor[results];
        for (int r = 0; r < results; r++) _results[r] = NewResult(r);
    }

    // Graph input index per state / argument / scalar index; each must be fed exactly once.
    private static int[] Map(ReadOnlySpan<StepInput> inputs, StepInputKind kind, int count)
    {
        var map = new int[count];
        Array.Fill(map, -1);
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputs[i].Kind != kind) continue;
            if (inputs[i].Index < 0 || map[inputs[i].Index] >= 0)
                throw new ArgumentException($"{kind} {inputs[i].Index} is fed to more than one graph input (or negative).", nameof(inputs));
            map[inputs[i].Index] = i;
        }
        int missing = Array.IndexOf(map, -1);
        if (missing >= 0) throw new ArgumentException($"{kind} {missing} feeds no graph input.", nameof(inputs));
        return map;
    }

    private Tensor NewResult(int r)
    {
        var t = Tensor.Wrap(_backend, OpSession.Allocate(_outputSpecs[r]), _outputSpecs[r]);
        TensorScope.Release(t); // owned by the runner, not by the caller's scope
        return t;
    }

    public ReadOnlySpan<Tensor> Run(scoped ReadOnlySpan<Tensor> state, scoped ReadOnlySpan<Tensor> args, scoped ReadOnlySpan<double> scalars)
    {
        if (state.Length != _stateInput.Length || args.Length != _argInput.Length || scalars.Length != _scalarInput.Length)
            throw new ArgumentException($"The compiled step takes {_stateInput.Length} state tensors, {_argInput.Length} arguments and {_scalarInput.Length} scalars; got {state.Length}, {args.Length} and {scalars.Length}.");
        // Arguments are checked and copied before anything runs, so a previous result may be passed back in.
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            var spec = _inputSpecs[_argInput[i]];
            if (!ReferenceEquals(a.Backend, _backend) || a.Spec != spec)
                throw new ArgumentException($"Argument {i} is {a.Spec} on '{a.Backend.Name}'; the compiled step expects {spec} on 'graph'.", nameof(args));
            ((OrtValue)a.Handle).GetTensorMutableRawData().CopyTo(_argBuffers[i].GetTensorMutableRawData());
        }
        for (int k = 0; k < scalars.Length; k++) WriteScalar(_scalarBuffers[k], _inputSpecs[_scalarInput[k]].DType, scalars[k]);
        for (int r = 0; r < _results.Length; r++)
        {
            if (!_results[r].IsDisposed) continue;
            // The caller disposed a result: give it a fresh buffer and bind again.
            _results[r] = NewResult(r);
            DisposeBindings();
        }
        if (!Continues(state)) Reset(state);
        var binding = _bindings[_phase] ??= CreateBinding(_phase);
        _session.RunWithBinding(_run, binding);
        var written = _phase == 0 ? _pingB! : _pingA!;
        for (int j = 0; j < state.Length; j++)
        {
            object h = written[j];
            state[j].SwapHandle(ref h);
        }
        _phase ^= 1;
        return _results;
    }

    private static void WriteScalar(OrtValue v, DType dtype, double x)
    {
        var raw = v.GetTensorMutableRawData();
        switch (dtype)
        {
            case DType.Float32: MemoryMarshal.Write(raw, (float)x); break;
            case DType.Float64: MemoryMarshal.Write(raw, x); break;
            case DType.Float16: MemoryMarshal.Write(raw, (Half)x); break;
            case DType.BFloat16: MemoryMarshal.Write(raw, BFloat16Bits((float)x)); break;
            case DType.Int64: MemoryMarshal.Write(raw, checked((long)x)); break;
            case DType.Int32: MemoryMarshal.Write(raw, checked((int)x)); break;
            case DType.Int8: MemoryMarshal.Write(raw, checked((sbyte)x)); break;
            case DType.UInt8: MemoryMarshal.Write(raw, checked((byte)x)); break;
            case DType.Bool: raw[0] = x != 0 ? (byte)1 : (byte)0; break;
            default: throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null);
        }
    }

    // Round to nearest even, as the cast op does.
    private static ushort BFloat16Bits(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((u >> 16) | 0x40);
        return (ushort)((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
    }

    // True when every state tensor still holds the buffer this runner expects in the current phase.
    private bool Continues(ReadOnlySpan<Tensor> state)
    {
        var current = _phase == 0 ? _pingA : _pingB;
        if (current == null) return false;
        for (int j = 0; j < state.Length; j++)
            if (!ReferenceEquals(state[j].Handle, current[j])) return false;
        return true;
    }

    // Adopts the state tensors' current buffers as phase-0 inputs and allocates the other half of each pair.
    private void Reset(ReadOnlySpan<Tensor> state)
    {
        for (int j = 0; j < state.Length; j++)
        {
            var spec = _inputSpecs[_stateInput[j]];
            if (!ReferenceEquals(state[j].Backend, _backend) || state[j].Spec != spec)
                throw new ArgumentException($"State {j} is {state[j].Spec} on '{state[j].Backend.Name}'; the compiled step expects {spec} on 'graph'.", nameof(state));
        }
        DisposeBindings();
        DisposeSpare();
        var a = new OrtValue[state.Length];
        for (int j = 0; j < a.Length; j++) a[j] = (OrtValue)state[j].Handle;
        _pingA = a;
        _pingB = _stateInput.Select(i => OpSession.Allocate(_inputSpecs[i])).ToArray();
        _phase = 0;
    }

    private OrtIoBinding CreateBinding(int phase)
    {
        var binding = _session.CreateIoBinding();
        try
        {
            var ins = phase == 0 ? _pingA! : _pingB!;
            var outs = phase == 0 ? _pingB! : _pingA!;
            for (int j = 0; j < _stateInput.Length; j++)
            {
                binding.BindInput(_inputNames[_stateInput[j]], ins[j]);
                binding.BindOutput(_outputNames[_results.Length + j], outs[j]);
            }
            for (int i = 0; i < _argInput.Length; i++) binding.BindInput(_inputNames[_argInput[i]], _argBuffers[i]);
            for (int k = 0; k < _scalarInput.Length; k++) binding.BindInput(_inputNames[_scalarInput[k]], _scalarBuffers[k]);
            for (int r = 0; r < _results.Length; r++) binding.BindOutput(_outputNames[r], (OrtValue)_results[r].Handle);
            return binding;
        }
        catch
        {
            binding.Dispose();
            throw;
        }
    }

    private void DisposeBindings()
    {
        for (int p = 0; p < 2; p++)
        {
            _bindings[p]?.Dispose();
            _bindings[p] = null;
        }
    }

    private void DisposeSpare()
    {
        var spare = _phase == 0 ? _pingB : _pingA;
        if (spare != null) foreach (var v in spare) v.Dispose();
        _pingA = _pingB = null;
    }

    public void Dispose()
    {
        DisposeBindings();
        DisposeSpare();
        foreach (var v in _argBuffers) v.Dispose();
        foreach (var v in _scalarBuffers) v.Dispose();
        foreach (var t in _results) t.Dispose();
    }
}
