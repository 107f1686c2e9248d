using System.Text;
using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.IR.Passes;
using DualFramework.NN;

namespace DualFramework.IR;

/// <summary>
/// A C# function over tensors compiled into a graph: the first call with a new signature traces the function on symbolic
/// tensors, optimises the graph with a <see cref="PassPipeline"/> and has the backend compile it; later calls with the same
/// signature only run the compiled graph. The function's state (<see cref="Variable"/>s: parameters, buffers, optimizer
/// state) is read as graph inputs and written back from graph outputs, so a whole training step, forward, backward and
/// optimizer update, becomes one stateless graph.
/// </summary>
/// <remarks>
/// <para>Signature: the backend, the argument specs, the state specs (and count), <see cref="Autograd.IsGradEnabled"/>,
/// and the training flag of the model given at creation. A new signature means a new trace (<see cref="TraceCount"/>).
/// State created while tracing (optimizer moments on the first step) joins the state list; the next call reuses the trace
/// unless the traced code branched on that state's absence (then it retraces once).</para>
/// <para>Rules for traced code: tensor values cannot be read (<see cref="SymbolicValueException"/>); shapes and C# values
/// are baked in at trace time; concrete tensors captured from outside become constants; variables assigned inside must be
/// in the state list. Gradients are not state: a traced step starts with cleared gradients. Optimizers' step-dependent
/// scalars (learning rate, bias corrections) are graph inputs recomputed before each run, and their step counters advance
/// on every run; so are the seeds of random ops drawn from the model's layers' generators.</para>
/// <para>Results: <see cref="Call"/> returns new tensors; <see cref="CallReusingResults"/> returns tensors the function
/// owns and overwrites on the next call, and allocates nothing per step on the graph backend.</para>
/// </remarks>
public sealed partial class CompiledFunction : IDisposable
{
    private readonly Func<Tensor[], Tensor[]> _function;
    private readonly List<Variable> _state;
    private readonly TensorSpec[]? _signature;
    private readonly Module? _model;
    private readonly Generator[] _generators;
    private readonly Func<IComputeBackend, bool, PassPipeline> _passes;
    private readonly Dictionary<string, Entry> _cache = [];

    /// <summary>Creates a compiled function.</summary>
    /// <param name="function">The computation: tensors in, tensors out (run once per trace on symbolic tensors).</param>
    /// <param name="state">Variables the function reads or assigns (parameters, buffers, optimizer state).</param>
    /// <param name="signature">Optional fixed argument signature: calls with another number of arguments, rank or dtype fail
    /// with a message naming it (sizes may still vary, each new shape tracing anew).</param>
    /// <param name="model">Optional model whose <see cref="Module.Training"/> flag is part of the signature.</param>
    /// <param name="passes">Pipeline factory from the evaluation backend and the training flag (default:
    /// <see cref="PassPipeline.Default"/>); return <see cref="PassPipeline.Empty"/> to run the traced graph as is.</param>
    /// <param name="name">Name for messages.</param>
    /// <param name="generators">Generators whose seeds the function's random ops draw, besides those of
    /// <paramref name="model"/>'s modules: each of their draws while tracing becomes a per-run seed (see
    /// <see cref="RandomSeedInputs"/>), so random values (dropout masks, <c>random_uniform</c>/<c>random_normal</c>) differ from
    /// run to run and follow the generators' sequences exactly as eager code would. Seeds from other generators are baked into
    /// the graph (the same values on every run).</param>
    public CompiledFunction(Func<Tensor[], Tensor[]> function, IEnumerable<Variable>? state = null, TensorSpec[]? signature = null,
        Module? model = null, Func<IComputeBackend, bool, PassPipeline>? passes = null, string name = "function", IEnumerable<Generator>? generators = null)
    {
        _generators = generators?.ToArray() ?? [];
        _function = function ?? throw new ArgumentNullException(nameof(function));
        _state = state?.Distinct().ToList() ?? [];
        _signature = signature;
        _model = model;
        _passes = passes ?? ((b, training) => PassPipeline.Default(b, training));
        Name = name;
    }

    /// <summary>Name for messages.</summary>
    public string Name { get; }

    /// <summary>The state variables, in graph input order (grows when tracing creates optimizer state).</summary>
    public IReadOnlyList<Variable> State => _state;

    /// <summary>Number of traces so far.</summary>
    public int TraceCount { get; private set; }

    /// <summary>The graph of the last trace as traced (before passes).</summary>
    public Graph? LastTracedGraph { get; private set; }

    /// <summary>The graph of the last trace after the passes (what the backend compiled).</summary>
    public Graph? LastGraph { get; private set; }

    /// <summary>The executable of the last trace.</summary>
    public IExecutable? LastExecutable { get; private set; }

    /// <summary>Calls the function: traces and compiles on a new signature, then runs the compiled graph, assigns the new
    /// state values and returns the results as new tensors owned by the current <see cref="TensorScope"/>.</summary>
    /// <remarks>Steady-state loops should prefer <see cref="CallReusingResults"/>, which allocates nothing.</remarks>
    public Tensor[] Call(params Tensor[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        CheckArguments(args);
        if (IsInlined(args)) return _function(args);
        var (entry, backend) = Lookup(args);
        if (entry.Step == null) return entry.Anomaly == null ? RunGeneric(entry, backend, args) : Checked(entry, RunGeneric(entry, backend, args)).ToArray();
        var results = Checked(entry, RunStep(entry, args));
        var copies = new Tensor[results.Length];
        for (int i = 0; i < copies.Length; i++) copies[i] = Copy(results[i]);
        return copies;
    }

    /// <summary>
    /// Calls the function like <see cref="Call"/>, but returns results that the function owns and reuses: they stay valid
    /// until the next call of this function (or its <see cref="Dispose"/>) and are then overwritten or freed, so copy what
    /// must be kept. On a backend whose executables implement <see cref="IStepExecutable"/> (the graph backend) a
    /// steady-state call (same signature as the previous one) allocates no managed memory: arguments are copied into
    /// buffers bound once, host scalars are written in place, and results live in preallocated buffers.
    /// </summary>
    public ReadOnlySpan<Tensor> CallReusingResults(params ReadOnlySpan<Tensor> args)
    {
        CheckArguments(args);
        if (IsInlined(args)) return _function(args.ToArray());
        var (entry, backend) = Lookup(args);
        if (entry.Step != null) return Checked(entry, RunStep(entry, args));
        var inputs = args.ToArray();
        var results = RunGeneric(entry, backend, inputs);
        OwnResults(results, inputs);
        return Checked(entry, results);
    }

    // A debug build's last result is its anomaly flag vector: verify it and hide it from the caller.
    private static ReadOnlySpan<Tensor> Checked(Entry entry, ReadOnlySpan<Tensor> results)
    {
        if (entry.Anomaly is not { } checks) return results;
        checks.Verify(results[^1]);
        return results[..^1];
    }

    // Called from inside another trace (or with symbolic arguments): the function is inlined into that trace.
    private static bool IsInlined(ReadOnlySpan<Tensor> args)
    {
        if (SymbolicTrace.Current != null) return true;
        foreach (var a in args)
            if (SymbolicTrace.IsSymbolic(a)) return true;
        return false;
    }

    private (Entry Entry, IComputeBackend Backend) Lookup(ReadOnlySpan<Tensor> args)
    {
        var backend = args.Length > 0 ? args[0].Backend : _state.Count > 0 ? _state[0].Value.Backend : BackendRegistry.Default;
        // Steady state: the same signature as the previous call needs no key string (nor its allocations).
        if (_last is { } last && last.Matches(backend, args, _state.Count, _model?.Training, Diagnostics.AnomalyMode.IsEnabled)) return (last.Entry, backend);
        int stateCount = _state.Count;
        var key = Key(backend, args);
        if (!_cache.TryGetValue(key, out var entry))
        {
            entry = Trace(backend, args.ToArray());
            // Keyed by the state list seen BEFORE tracing. When tracing created state (an optimizer's first step), the next
            // call sees a longer list: the same graph serves it (one trace, one session) unless host code branched on that
            // state's existence (SGD's first momentum step), which needs a trace with the state present.
            _cache[key] = entry;
            if (entry.CreatedStateReusable) _cache[Key(backend, args)] = entry;
        }
        var specs = new TensorSpec[args.Length];
        for (int i = 0; i < specs.Length; i++) specs[i] = args[i].Spec;
        _last = new LastCall(entry, backend, specs, stateCount, Autograd.IsGradEnabled, _model?.Training, Diagnostics.AnomalyMode.IsEnabled);
        return (entry, backend);
    }

    private LastCall? _last;

    // The signature of the previous call, compared field by field (the state variables' specs never change, only their count).
    private sealed record LastCall(Entry Entry, IComputeBackend Backend, TensorSpec[] Args, int StateCount, bool GradEnabled, bool? Training, bool Anomaly)
    {
        public bool Matches(IComputeBackend backend, ReadOnlySpan<Tensor> args, int stateCount, bool? training, bool anomaly)
        {
            if (!ReferenceEquals(backend, Backend) || stateCount != StateCount || GradEnabled != Autograd.IsGradEnabled || training != Training
                || anomaly != Anomaly || args.Length != Args.Length) return false;
            for (int i = 0; i < args.Length; i++)
                if (args[i].Spec != Args[i]) return false;
            return true;
        }
    }

    private void CheckArguments(ReadOnlySpan<Tensor> args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == null) throw new ArgumentNullException(nameof(args), $"{Name}: argument {i} is null.");
            if (args[i].IsDisposed) throw new ObjectDisposedException(nameof(Tensor), $"{Name}: argument {i} ({args[i].Spec}) was disposed.");
        }
        bool mixed = false;
        for (int i = 1; i < args.Length; i++) mixed |= !ReferenceEquals(args[i].Backend, args[0].Backend);
        if (mixed)
            throw new ArgumentException($"{Name}: all arguments must live on one backend, got {string.Join(", ", args.ToArray().Select(a => a.Backend.Name))}.", nameof(args));
        if (_signature == null) return;
        if (args.Length == _signature.Length)
        {
            bool ok = true;
            for (int i = 0; i < args.Length; i++) ok &= args[i].Rank == _signature[i].Shape.Rank && args[i].DType == _signature[i].DType;
            if (ok) return;
        }
        ReportSignature(args.ToArray(), _signature);
    }

    private void ReportSignature(Tensor[] args, TensorSpec[] signature)
    {
        string Expected() => $"{Name} expects ({string.Join(", ", signature.Select(Describe))})";
        if (args.Length != signature.Length)
            throw new ArgumentException($"{Expected()}: {signature.Length} argument(s), got {args.Length}: ({string.Join(", ", args.Select(a => a.Spec))}).", nameof(args));
        for (int i = 0; i < args.Length; i++)
        {
            var want = signature[i];
            if (args[i].Rank != want.Shape.Rank || args[i].DType != want.DType)
                throw new ArgumentException($"{Expected()}: argument {i} must be {Describe(want)} (rank {want.Shape.Rank}), got {args[i].Spec}.", nameof(args));
        }
    }

    private static string Describe(TensorSpec s) => s.ToString();

    private string Key(IComputeBackend backend, ReadOnlySpan<Tensor> args)
    {
        var sb = new StringBuilder();
        sb.Append(backend.Name).Append('@').Append(backend.Device).Append('|').Append(Autograd.IsGradEnabled ? 'g' : 'n')
            .Append(_model?.Training == true ? 't' : 'e').Append(Diagnostics.AnomalyMode.IsEnabled ? "a|" : "|");
        foreach (var a in args) sb.Append(a.Spec).Append(';');
        sb.Append('|');
        foreach (var v in _state) sb.Append(v.Spec).Append(';');
        return sb.ToString();
    }

    private Entry Trace(IComputeBackend backend, Tensor[] args)
    {
        var graph = new Graph();
        var sym = new SymbolicBackend(graph, backend);
        var ctx = new TraceContext(sym);
        var state = _state.ToArray();
        var sources = new List<InputSource>();
        var originals = new Tensor[state.Length];
        int swapped = 0;
        var generators = TrackedGenerators();
        var draws = Array.ConvertAll(generators, g => g.Draws);
        var previous = SymbolicTrace.Swap(ctx);
        Tensor[] results;
        var outputs = new List<Value>();
        (Generator, ulong[])[] seeds;
        try
        {
            using (var scope = TensorScope.Begin())
            {
                var names = new HashSet<string>();
                for (int i = 0; i < state.Length; i++)
                {
                    var n = state[i].Name;
                    var v = graph.AddInput(state[i].Spec, !string.IsNullOrEmpty(n) && names.Add(n) ? n : $"state{i}");
                    var t = sym.Wrap(v);
                    if (state[i].Trainable) t.RequiresGrad = true;
                    originals[i] = state[i].SwapValue(t);
                    swapped++;
                    sources.Add(InputSource.ForState(i));
                }
                var symArgs = new Tensor[args.Length];
                for (int i = 0; i < args.Length; i++)
                {
                    symArgs[i] = sym.Wrap(graph.AddInput(args[i].Spec, ctx.UniqueName($"arg{i}")));
                    sources.Add(InputSource.ForArg(i));
                }
                using (LayerPath.Enter(Name))
                    results = _function(symArgs) ?? throw new InvalidOperationException($"{Name} returned null.");
                foreach (var r in results) outputs.Add(ToValue(ctx, r, "result"));
                foreach (var v in state) outputs.Add(ToValue(ctx, v.Value, $"state '{v.Name}'"));
                foreach (var (v, _) in ctx.LateState) outputs.Add(ToValue(ctx, v.Value, $"state '{v.Name}'"));
            }
        }
        finally
        {
            SymbolicTrace.Swap(previous);
            for (int i = 0; i < swapped; i++) state[i].SwapValue(originals[i]);
            foreach (var (v, concrete) in ctx.LateState) v.SwapValue(concrete);
            foreach (var undo in ctx.Undo) undo();
            foreach (var (v, _) in ctx.LateState) _state.Add(v);
            seeds = UndoDraws(generators, draws);
        }
        AddSeedInputs(ctx, seeds);
        sources.AddRange(ctx.ExtraInputs);
        foreach (var o in outputs) graph.AddOutput(o);
        graph.Verify();
        TraceCount++;
        LastTracedGraph = graph.Clone();
        bool training = _model?.Training ?? false;
        _passes(backend, training).Run(graph);
        graph.Verify();
        // The debug build (docs/reliability.md): per-node finiteness flags as one extra result after the function's own.
        var checks = Diagnostics.AnomalyMode.IsEnabled ? GraphAnomalyChecks.Add(graph, backend, results.Length, Name) : null;
        LastGraph = graph;
        var allState = state.Concat(ctx.LateState.Select(l => l.Var)).ToArray();
        var entry = new Entry(backend.Compile(graph), graph, sources.ToArray(), allState, state.Length, results.Length + (checks != null ? 1 : 0),
            ctx.HostActions.ToArray(), ctx.ScalarCount)
        {
            CreatedStateReusable = ctx.LateState.Count > 0 && !ctx.BranchedOnMissingState,
            Anomaly = checks,
        };
        LastExecutable = entry.Exe;
        return entry;
    }

    private static Value ToValue(TraceContext ctx, Tensor t, string what)
    {
        if (t == null) throw new InvalidOperationException($"A traced function returned a null {what}.");
        if (t.IsDisposed) throw new InvalidOperationException($"The {what} {t.Spec} returned by a traced function was disposed (did a TensorScope inside the function end?).");
        if (!ReferenceEquals(t.Backend, ctx.Backend)) t = ctx.Capture(t); // does not depend on the inputs: a constant
        return (Value)t.Handle;
    }
}
