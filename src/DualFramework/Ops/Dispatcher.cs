using DualFramework.Autodiff;
using DualFramework.Backends;

namespace DualFramework.Operators;

/// <summary>
/// Applies an op: checks operands with the op's rule (in Core, before any backend runs), calls the backend's kernel,
/// wraps the outputs and records the application on the tape when gradients flow through Core's rules.
/// </summary>
public static class Dispatcher
{
    /// <summary>Applies a single-output op.</summary>
    public static Tensor Apply(Op op, OpAttrs attrs, params Tensor[] inputs)
    {
        var outs = ApplyMulti(op, attrs, inputs);
        return outs[0];
    }

    /// <summary>Applies a single-output creation op (no tensor operands) on <paramref name="backend"/>.</summary>
    public static Tensor Create(Op op, OpAttrs attrs, IBackend? backend)
    {
        var b = backend ?? BackendRegistry.Default;
        var specs = op.Infer([], attrs);
        var handle = b.Execute(op, attrs, [], specs);
        return Tensor.Wrap(b, handle, specs[0]);
    }

    /// <summary>Applies an op and returns all its outputs.</summary>
    public static Tensor[] ApplyMulti(Op op, OpAttrs attrs, params Tensor[] inputs)
    {
        if (inputs.Length == 0) throw new ArgumentException($"{op.Name}: use Dispatcher.Create for ops without operands.");
        var backend = inputs[0].Backend;
        var specs = new TensorSpec[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            var t = inputs[i] ?? throw new ArgumentNullException(nameof(inputs), $"{op.Name}: operand {i} is null.");
            if (t.IsDisposed) throw new ObjectDisposedException(nameof(Tensor), $"{op.Name}: operand {i} ({t.Spec}) was disposed.");
            specs[i] = t.Spec;
            if (!ReferenceEquals(t.Backend, backend))
                throw new OpException(op.Name, specs[..(i + 1)],
                    $"operands live on different backends ('{backend.Name}' and '{t.Backend.Name}')", LayerPath.Current);
        }
        var outSpecs = op.Infer(specs, attrs);
        var result = backend.Execute(op, attrs, inputs, outSpecs);
        // Kernels return a bare handle for one output or an array of handles (also for a one-element split).
        var handles = result as object[] ?? [result];
        if (handles.Length != outSpecs.Length)
            throw new InvalidOperationException($"Backend '{backend.Name}' returned {handles.Length} outputs for op '{op.Name}', which has {outSpecs.Length}.");
        var outputs = new Tensor[outSpecs.Length];
        for (int i = 0; i < outputs.Length; i++) outputs[i] = Tensor.Wrap(backend, handles[i], outSpecs[i]);
        Autograd.Record(op, attrs, inputs, outputs);
        return outputs;
    }
}
