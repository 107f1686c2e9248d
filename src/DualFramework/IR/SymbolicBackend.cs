using DualFramework.Backends;
using DualFramework.Operators;

namespace DualFramework.IR;

/// <summary>
/// The backend of tensors inside a traced function: a handle is a <see cref="Value"/> of the graph being built, and
/// running an op appends a node instead of computing anything. It has no autograd of its own, so gradients inside a trace
/// come from Core's tape and its rules, which then add the backward pass to the same graph.
/// </summary>
public sealed class SymbolicBackend : IComputeBackend
{
    /// <summary>Creates a backend that appends to <paramref name="graph"/>; <paramref name="target"/> is the backend the
    /// graph will run on (it supplies the device).</summary>
    public SymbolicBackend(Graph graph, IComputeBackend target)
    {
        Graph = graph;
        Target = target;
    }

    /// <summary>The graph being traced.</summary>
    public Graph Graph { get; }

    /// <summary>The concrete backend the traced graph is compiled for.</summary>
    public IComputeBackend Target { get; }

    /// <inheritdoc />
    public string Name => "symbolic";

    /// <inheritdoc />
    public Device Device => Target.Device;

    /// <inheritdoc />
    public bool Supports(Op op) => true;

    /// <inheritdoc />
    public object Execute(Op op, OpAttrs attrs, ReadOnlySpan<Tensor> inputs, TensorSpec[] outputs)
    {
        var values = new Value[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
            values[i] = inputs[i].Handle as Value ?? throw new InvalidOperationException($"{op.Name}: operand {i} is not a symbolic value of this trace.");
        var outs = Graph.AddNode(op, attrs, values, LayerPath.Current);
        if (outs.Length == 1) return outs[0];
        return outs.Cast<object>().ToArray();
    }

    /// <inheritdoc />
    public object FromBytes(ReadOnlySpan<byte> data, TensorSpec spec) => Graph.AddConstant(spec, data.ToArray());

    /// <inheritdoc />
    public void ToBytes(object handle, TensorSpec spec, Span<byte> destination)
    {
        if (handle is Value { ConstantData: { } bytes } && bytes.Length == destination.Length)
        {
            // A constant's value is known while tracing; reading it is harmless and keeps host-side helpers working.
            bytes.CopyTo(destination);
            return;
        }
        throw new SymbolicValueException(handle is Value v ? v.Name : "?", spec);
    }

    /// <inheritdoc />
    public bool CachesConstants => false;

    /// <inheritdoc />
    public INativeAutograd? NativeAutograd => null;

    /// <summary>Wraps <paramref name="value"/> as a tensor of this backend: ops applied to it append nodes to
    /// <see cref="Graph"/> (the ONNX importer builds compositions such as DFT this way from Core functions).</summary>
    internal Tensor Wrap(Value value) => Tensor.Wrap(this, value, value.Spec);
}
