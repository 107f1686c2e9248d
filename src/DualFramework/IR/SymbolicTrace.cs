using DualFramework.Backends;
using DualFramework.NN;
using DualFramework.Operators;

namespace DualFramework.IR;

/// <summary>The state of the trace running on this thread: its graph, captured constants, state variables discovered while
/// tracing (optimizer buffers created on first use) and host-side scalars that must be graph inputs.</summary>
internal sealed class TraceContext(SymbolicBackend backend)
{
    private readonly Dictionary<Tensor, Tensor> _captured = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<object> _registered = new(ReferenceEqualityComparer.Instance);

    public SymbolicBackend Backend { get; } = backend;
    public Graph Graph => Backend.Graph;

    /// <summary>Inputs added while tracing, after the declared state and the arguments, in graph input order.</summary>
    public List<InputSource> ExtraInputs { get; } = [];

    /// <summary>State variables created while tracing, with their concrete values (swapped out until the trace ends).</summary>
    public List<(Variable Var, Tensor Concrete)> LateState { get; } = [];

    /// <summary>Set when traced code asked whether state exists and it did not (e.g. SGD's first momentum step): the
    /// graph then differs from the one a trace with that state would give, so it serves only the state list it saw.</summary>
    public bool BranchedOnMissingState { get; set; }

    /// <summary>Host work to replay before each run of the compiled graph, in trace order (counter updates, scalar inputs).</summary>
    public List<Action<double[]>> HostActions { get; } = [];

    /// <summary>Undoes the host-side effects of tracing (optimizer counters), run when the trace ends.</summary>
    public List<Action> Undo { get; } = [];

    public int ScalarCount { get; private set; }

    /// <summary>True the first time <paramref name="owner"/> registers (so it can snapshot its counters once).</summary>
    public bool FirstRegistration(object owner) => _registered.Add(owner);

    /// <summary>A graph constant holding a concrete tensor's current value (one constant per captured tensor).</summary>
    public Tensor Capture(Tensor t)
    {
        if (_captured.TryGetValue(t, out var c)) return c;
        var bytes = t.ToBytes();
        c = Backend.Wrap(Graph.AddConstant(t.Spec, bytes));
        TensorScope.Release(c); // symbolic tensors own no memory; the cache must outlive the user's scopes
        _captured[t] = c;
        return c;
    }

    /// <summary>A scalar graph input of <paramref name="dtype"/> whose value <paramref name="value"/> computes on the host
    /// before each run.</summary>
    public Tensor ScalarInput(string name, DType dtype, Func<double> value)
    {
        int slot = ScalarCount++;
        var v = Graph.AddInput(new TensorSpec(Shape.Scalar, dtype), UniqueName(name));
        ExtraInputs.Add(InputSource.ForScalar(slot));
        HostActions.Add(vals => vals[slot] = value());
        var t = Backend.Wrap(v);
        TensorScope.Release(t);
        return t;
    }

    /// <summary>A scalar graph input filled by host actions (registered separately) before each run; returns its slot.</summary>
    public int ScalarSlot(string name, DType dtype)
    {
        int slot = ScalarCount++;
        Graph.AddInput(new TensorSpec(Shape.Scalar, dtype), UniqueName(name));
        ExtraInputs.Add(InputSource.ForScalar(slot));
        return slot;
    }

    /// <summary>Makes a variable created during the trace part of the state: its (concrete) value becomes a graph input.</summary>
    public void AddLateState(Variable var)
    {
        var v = Graph.AddInput(var.Spec, UniqueName(string.IsNullOrEmpty(var.Name) ? "state" : var.Name));
        var t = Backend.Wrap(v);
        TensorScope.Release(t);
        if (var.Trainable) t.RequiresGrad = true;
        LateState.Add((var, var.SwapValue(t)));
        ExtraInputs.Add(InputSource.ForLateState(LateState.Count - 1));
    }

    public string UniqueName(string name)
    {
        var taken = new HashSet<string>(Graph.Inputs.Select(i => i.Name));
        if (!taken.Contains(name)) return name;
        for (int k = 1; ; k++)
            if (!taken.Contains($"{name}_{k}")) return $"{name}_{k}";
    }
}

/// <summary>Where a graph input's value comes from at run time.</summary>
internal readonly record struct InputSource(int Kind, int Index)
{
    public const int State = 0, Arg = 1, Scalar = 2, LateState = 3;
    public static InputSource ForState(int i) => new(State, i);
    public static InputSource ForArg(int i) => new(Arg, i);
    public static InputSource ForScalar(int i) => new(Scalar, i);
    public static InputSource ForLateState(int i) => new(LateState, i);
}

/// <summary>The trace active on this thread; the hooks in the dispatcher, <see cref="Variable"/> and optimizers read it.</summary>
internal static class SymbolicTrace
{
    [ThreadStatic] private static TraceContext? _current;

    /// <summary>The active trace, or null (the only check on the eager hot path).</summary>
    public static TraceContext? Current => _current;

    public static TraceContext? Swap(TraceContext? ctx)
    {
        var prev = _current;
        _current = ctx;
        return prev;
    }

    /// <summary>
    /// Operands of an op applied while tracing: when symbolic tensors of the active trace are mixed with concrete ones
    /// (weights or constants captured from outside the traced function), the concrete ones become graph constants.
    /// Ops on concrete tensors only run eagerly as usual.
    /// </summary>
    public static ReadOnlySpan<Tensor> Capture(Op op, ReadOnlySpan<Tensor> inputs)
    {
        var ctx = _current!;
        bool anySymbolic = false, anyConcrete = false;
        foreach (var t in inputs)
        {
            if (t == null || t.IsDisposed) return inputs; // the dispatcher reports it
            if (ReferenceEquals(t.Backend, ctx.Backend)) anySymbolic = true;
            else if (t.Backend is not SymbolicBackend) anyConcrete = true;
        }
        if (!anySymbolic || !anyConcrete) return inputs;
        var result = inputs.ToArray();
        for (int i = 0; i < result.Length; i++)
            if (result[i].Backend is not SymbolicBackend) result[i] = ctx.Capture(result[i]);
        return result;
    }

    /// <summary>True when <paramref name="t"/> is a symbolic tensor (of any trace).</summary>
    public static bool IsSymbolic(Tensor t) => t.Backend is SymbolicBackend;

    /// <summary>The backend concrete tensors are created on inside the active trace (its target).</summary>
    public static IComputeBackend? Target => _current?.Backend.Target;
}
