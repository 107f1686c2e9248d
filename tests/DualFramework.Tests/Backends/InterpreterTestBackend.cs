using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Tests.Backends;

/// <summary>
/// A third backend built outside Core on nothing but <see cref="IComputeBackend"/>, the way an adapter for another engine
/// (TensorFlow.NET, a GPU library) would plug in. Its handles are host byte arrays of its own; every op is placed in a
/// one-node IR graph and run by Core's <see cref="GraphInterpreter"/> over a kernel provider (the graph backend unless told
/// otherwise). Gradients come from Core's tape, as on any backend without a native autograd.
/// </summary>
public sealed class InterpreterTestBackend : IComputeBackend
{
    /// <summary>The name it is registered under in <see cref="BackendRegistry"/>.</summary>
    public const string RegistryName = "interpreter-test";

    private readonly IComputeBackend _kernels;

    /// <summary>Creates the backend; <paramref name="kernels"/> runs the interpreted nodes (default: the graph backend).</summary>
    public InterpreterTestBackend(IComputeBackend? kernels = null) => _kernels = kernels ?? BackendRegistry.Get("graph");

    /// <summary>Registers the backend under <see cref="RegistryName"/> (idempotent) and returns the shared instance.</summary>
    public static IComputeBackend Registered()
    {
        BackendRegistry.Register(RegistryName, () => new InterpreterTestBackend());
        return BackendRegistry.Get(RegistryName);
    }

    /// <summary>Number of ops executed so far (a test can tell that work really went through this backend).</summary>
    public int ExecutedOps { get; private set; }

    /// <inheritdoc />
    public string Name => RegistryName;

    /// <inheritdoc />
    public Device Device => Device.Cpu;

    /// <inheritdoc />
    public INativeAutograd? NativeAutograd => null;

    /// <inheritdoc />
    public bool Supports(Op op) => _kernels.Supports(op);

    /// <inheritdoc />
    public object Execute(Op op, OpAttrs attrs, ReadOnlySpan<Tensor> inputs, TensorSpec[] outputs)
    {
        var graph = new Graph();
        var operands = new Value[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) operands[i] = graph.AddInput(inputs[i].Spec);
        var results = graph.AddNode(op, attrs, operands);
        foreach (var r in results) graph.AddOutput(r);

        using var scope = TensorScope.Begin();
        var args = new Tensor[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) args[i] = Tensor.FromBytes(Bytes(inputs[i].Handle), inputs[i].Spec, _kernels);
        using var interpreter = new GraphInterpreter(_kernels, graph);
        var values = interpreter.Run(args);
        var handles = new object[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i].Spec != outputs[i]) throw new InvalidOperationException($"{op.Name}: output {i} is {values[i].Spec}, Core expected {outputs[i]}.");
            handles[i] = values[i].ToBytes();
        }
        ExecutedOps++;
        return handles.Length == 1 ? handles[0] : handles;
    }

    /// <inheritdoc />
    public object FromBytes(ReadOnlySpan<byte> data, TensorSpec spec) => data.ToArray();

    /// <inheritdoc />
    public void ToBytes(object handle, TensorSpec spec, Span<byte> destination) => Bytes(handle).CopyTo(destination);

    private static byte[] Bytes(object handle) =>
        handle as byte[] ?? throw new ArgumentException($"Not a handle of the {RegistryName} backend: {handle.GetType().Name}.", nameof(handle));
}
