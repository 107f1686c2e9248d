using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Backends;

/// <summary>
/// The compute-backend contract: the one place where an engine plugs into DualFramework. A backend maps each op to a
/// kernel, moves data in and out, and owns native handles; everything else (argument checks, shapes, dtype promotion,
/// gradient rules, tracing, optimizers, layers) lives in Core and works unchanged on any backend.
/// </summary>
/// <remarks>
/// <para>Core calls a backend only after the op's rule has validated the operands, so kernels may assume valid input.
/// A handle is whatever the backend uses for a tensor (a TorchSharp tensor, an ONNX Runtime value, an IR value while
/// tracing…). Core never looks inside it. A handle that implements <see cref="IDisposable"/> is disposed when its
/// <see cref="Tensor"/> is.</para>
/// <para>Adding a third backend (a TensorFlow.NET adapter, a GPU library) takes five members: <see cref="Name"/>,
/// <see cref="Device"/>, <see cref="Supports"/>, <see cref="Execute"/> and the byte transfers <see cref="FromBytes"/> /
/// <see cref="ToBytes"/>. Gradients then come from Core's tape (<see cref="NativeAutograd"/> null) and traced graphs run
/// on Core's <see cref="GraphInterpreter"/> (the default <see cref="Compile"/>). Register it by name with
/// <see cref="BackendRegistry.Register"/>, or ship it in an assembly <c>DualFramework.X</c> carrying a
/// <see cref="BackendProviderAttribute"/>; the op-set guard tests (tests/DualFramework.Tests/Backends) check that it maps
/// every op and matches the eager torch results.</para>
/// </remarks>
public interface IComputeBackend
{
    /// <summary>Registry name ("torch", "graph", …).</summary>
    string Name { get; }

    /// <summary>Device new tensors are created on.</summary>
    Device Device { get; }

    /// <summary>True when the backend has a kernel for <paramref name="op"/>.</summary>
    bool Supports(Op op);

    /// <summary>
    /// Runs <paramref name="op"/>. Returns the output handle, or an <c>object[]</c> of handles for multi-output ops,
    /// matching <paramref name="outputs"/> in shape and dtype.
    /// </summary>
    object Execute(Op op, OpAttrs attrs, ReadOnlySpan<Tensor> inputs, TensorSpec[] outputs);

    /// <summary>Creates a tensor from little-endian element bytes laid out row-major.</summary>
    object FromBytes(ReadOnlySpan<byte> data, TensorSpec spec);

    /// <summary>Copies a tensor's elements, row-major little-endian, into <paramref name="destination"/>.</summary>
    void ToBytes(object handle, TensorSpec spec, Span<byte> destination);

    /// <summary>
    /// True when Core may cache small constant tensors (scalars) created on this backend and reuse them across ops and
    /// threads. A tracing backend whose tensors are symbolic values of one graph returns false.
    /// </summary>
    bool CachesConstants => true;

    /// <summary>The backend's own autograd engine, or null when gradients come from Core's tape.</summary>
    INativeAutograd? NativeAutograd { get; }

    /// <summary>
    /// Compiles a (verified, optimised) graph for execution on this backend. The default is Core's
    /// <see cref="GraphInterpreter"/>, which runs the graph node by node through <see cref="Execute"/>; a backend with a
    /// graph compiler of its own overrides this.
    /// </summary>
    IExecutable Compile(Graph graph) => new GraphInterpreter(this, graph);

    /// <summary>
    /// The rewrites <see cref="Compile"/> applies for this backend's kernels, on a copy of <paramref name="graph"/> (the
    /// default: none, the graph itself). A graph with symbolic dims is compiled as it is, since such rewrites may build
    /// attributes from sizes; a <see cref="CompiledFunction"/> with open dims therefore applies them to each sample trace
    /// before generalising (<see cref="SymbolicGraphs"/>).
    /// </summary>
    Graph Prepare(Graph graph) => graph;
}

/// <summary>A backend's own reverse-mode autodiff (libtorch autograd for the eager backend).</summary>
public interface INativeAutograd
{
    /// <summary>Marks a leaf tensor as requiring gradients.</summary>
    void SetRequiresGrad(object handle, bool value);

    /// <summary>True when the tensor takes part in gradient computation.</summary>
    bool RequiresGrad(object handle);

    /// <summary>The accumulated gradient of a leaf (a new handle), or null.</summary>
    object? GetGrad(object handle);

    /// <summary>Replaces (null: clears) the accumulated gradient of a leaf.</summary>
    void SetGrad(object handle, object? grad);

    /// <summary>Accumulates d<paramref name="root"/>/d(leaf) into every leaf's gradient.</summary>
    void Backward(object root, object? gradient, bool retainGraph);

    /// <summary>Gradients of <paramref name="outputs"/> with respect to <paramref name="inputs"/> (null where unused).</summary>
    object?[] Grad(object[] outputs, object?[] gradOutputs, object[] inputs, bool retainGraph, bool createGraph);

    /// <summary>A handle sharing storage with <paramref name="handle"/> but outside the autograd graph.</summary>
    object Detach(object handle);

    /// <summary>Disables gradient recording on this thread until disposed.</summary>
    IDisposable NoGrad();
}
