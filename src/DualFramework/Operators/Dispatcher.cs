using System.Runtime.CompilerServices;
using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.Diagnostics;
using DualFramework.IR;
using DualFramework.MixedPrecision;

namespace DualFramework.Operators;

/// <summary>
/// Applies an op: checks operands with the op's rule (in Core, before any backend runs), calls the backend's kernel,
/// wraps the outputs and records the application on the tape when gradients flow through Core's rules.
/// </summary>
/// <remarks>The one- and two-operand overloads keep operands and specs on the stack: the eager hot path then allocates
/// only the output spec and the result tensor.</remarks>
public static class Dispatcher
{
    [InlineArray(2)]
    private struct Two<T>
    {
        private T _e;
    }

    /// <summary>Applies a single-output op to one operand.</summary>
    public static Tensor Apply(Op op, OpAttrs attrs, Tensor a)
    {
        var ins = new Two<Tensor>();
        ins[0] = a;
        return ApplyOne(op, attrs, ((Span<Tensor>)ins)[..1]);
    }

    /// <summary>Applies a single-output op to two operands.</summary>
    public static Tensor Apply(Op op, OpAttrs attrs, Tensor a, Tensor b)
    {
        var ins = new Two<Tensor>();
        ins[0] = a;
        ins[1] = b;
        return ApplyOne(op, attrs, ins);
    }

    /// <summary>Applies a single-output op.</summary>
    public static Tensor Apply(Op op, OpAttrs attrs, params Tensor[] inputs) => ApplyOne(op, attrs, inputs);

    /// <summary>Applies a single-output creation op (no tensor operands) on <paramref name="backend"/> (default: the default
    /// backend; while tracing, the trace for a random op).</summary>
    public static Tensor Create(Op op, OpAttrs attrs, IComputeBackend? backend)
    {
        // A random op traced without an explicit backend is recorded, not run into a trace-time constant: its values belong
        // to each run (its seed becomes a per-run input when a tracked generator drew it, see RandomSeedInputs).
        var b = backend ?? (attrs is ISeededAttrs && SymbolicTrace.Current is { } trace ? trace.Backend : BackendRegistry.Default);
        var specs = op.Infer([], attrs);
        var handle = b.Execute(op, attrs, [], specs);
        return Tensor.Wrap(b, handle, specs[0]);
    }

    private static Tensor ApplyOne(Op op, OpAttrs attrs, ReadOnlySpan<Tensor> inputs)
    {
        // While tracing, concrete operands mixed with symbolic ones become graph constants (one thread-static check otherwise).
        if (SymbolicTrace.Current != null) inputs = SymbolicTrace.Capture(op, inputs);
        if (Autocast.IsEnabled) inputs = Autocast.Apply(op, inputs);
        var (backend, outSpecs, result) = Run(op, attrs, inputs);
        if (outSpecs.Length == 1 && result is not object[])
        {
            var t = Tensor.Wrap(backend, result, outSpecs[0]);
            if (AnomalyMode.IsEnabled && SymbolicTrace.Current == null) AnomalyMode.CheckEager(op, inputs, [t]);
            if (Autograd.ShouldRecord(op, inputs)) Autograd.Record(op, attrs, inputs.ToArray(), [t]);
            return t;
        }
        return Wrap(op, attrs, inputs, backend, outSpecs, result)[0];
    }

    /// <summary>Applies an op and returns all its outputs.</summary>
    public static Tensor[] ApplyMulti(Op op, OpAttrs attrs, params Tensor[] inputs)
    {
        if (SymbolicTrace.Current != null) inputs = SymbolicTrace.Capture(op, inputs).ToArray();
        if (Autocast.IsEnabled) inputs = Autocast.Apply(op, inputs).ToArray();
        var (backend, outSpecs, result) = Run(op, attrs, inputs);
        return Wrap(op, attrs, inputs, backend, outSpecs, result);
    }

    private static (IComputeBackend, TensorSpec[], object) Run(Op op, OpAttrs attrs, ReadOnlySpan<Tensor> inputs)
    {
        if (inputs.Length == 0) throw new ArgumentException($"{op.Name}: use Dispatcher.Create for ops without operands.");
        var backend = inputs[0].Backend;
        var buffer = new Two<TensorSpec>();
        Span<TensorSpec> specs = inputs.Length <= 2 ? ((Span<TensorSpec>)buffer)[..inputs.Length] : new TensorSpec[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            var t = inputs[i] ?? throw new ArgumentNullException(nameof(inputs), $"{op.Name}: operand {i} is null.");
            if (t.IsDisposed) throw new ObjectDisposedException(nameof(Tensor), $"{op.Name}: operand {i} ({t.Spec}) was disposed.");
            specs[i] = t.Spec;
            if (!ReferenceEquals(t.Backend, backend))
                throw new OpException(op.Name, specs[..(i + 1)].ToArray(),
                    $"operands live on different backends ('{backend.Name}' and '{t.Backend.Name}')", LayerPath.Current);
        }
        var outSpecs = op.Infer(specs, attrs);
        var result = backend.Execute(op, attrs, inputs, outSpecs);
        // Operands' native buffers are read during Execute: keep their owners reachable until it returns, even for
        // temporaries nothing else references (a finalizer could otherwise free a buffer mid-call).
        for (int i = 0; i < inputs.Length; i++) GC.KeepAlive(inputs[i]);
        return (backend, outSpecs, result);
    }

    private static Tensor[] Wrap(Op op, OpAttrs attrs, ReadOnlySpan<Tensor> inputs, IComputeBackend backend, TensorSpec[] outSpecs, object result)
    {
        // Kernels return a bare handle for one output or an array of handles (also for a one-element split).
        var handles = result as object[] ?? [result];
        if (handles.Length != outSpecs.Length)
            throw new InvalidOperationException($"Backend '{backend.Name}' returned {handles.Length} outputs for op '{op.Name}', which has {outSpecs.Length}.");
        var outputs = new Tensor[outSpecs.Length];
        for (int i = 0; i < outputs.Length; i++) outputs[i] = Tensor.Wrap(backend, handles[i], outSpecs[i]);
        if (AnomalyMode.IsEnabled && SymbolicTrace.Current == null) AnomalyMode.CheckEager(op, inputs, outputs);
        if (Autograd.ShouldRecord(op, inputs)) Autograd.Record(op, attrs, inputs.ToArray(), outputs);
        return outputs;
    }
}
