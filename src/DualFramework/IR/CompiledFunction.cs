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
    /// <param name="inputSignature">Open (symbolic) dims of the arguments (<c>tf.function</c>'s <c>input_signature</c>): one
    /// trace then serves every size of them (see <see cref="InputSignature"/>; the remarks say how). Null: every shape is
    /// traced on its own.</param>
    public CompiledFunction(Func<Tensor[], Tensor[]> function, IEnumerable<Variable>? state = null, TensorSpec[]? signature = null,
        Module? model = null, Func<IComputeBackend, bool, PassPipeline>? passes = null, string name = "function", IEnumerable<Generator>? generators = null,
        InputSignature? inputSignature = null)
    {
        if (signature != null && inputSignature != null)
            throw new ArgumentException("Give either a fixed signature or an input signature with open dims, not both.", nameof(inputSignature));
        _inputSignature = inputSignature;
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

    private readonly InputSignature? _inputSignature;

    /// <summary>Number of graphs traced so far: one per signature (a signature with open dims counts once, however many
    /// sizes it serves). Past <see cref="RetraceWarningThreshold"/> a warning suggests an input signature.</summary>
    public int TraceCount { get; private set; }

    /// <summary>Times the function ran on symbolic tensors: a signature with open dims traces at a few sample sizes (and,
    /// when the first call creates state such as optimizer moments, once more at the call's sizes).</summary>
    public int TraceRunCount { get; private set; }

    /// <summary>The input signature with open dims, or null.</summary>
    public InputSignature? InputSignature => _inputSignature;

    /// <summary>Traces of one function after which a warning (once, to standard error) points at input signatures, as
    /// <c>tf.function</c> warns about frequent retracing; default 5.</summary>
    public static int RetraceWarningThreshold { get; set; } = 5;

    /// <summary>Why the open dims of the last signature traced could not stay symbolic (its sizes are then traced one by
    /// one); null when they did.</summary>
    public string? SymbolicFallbackReason { get; private set; }

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
        var names = SymbolNames(args);
        var key = Key(backend, args, names);
        if (names != null && _specialised.Contains(key))
        {
            // These open dims did not generalise: every size is traced on its own.
            names = null;
            key = Key(backend, args, null);
        }
        // A size the symbolic graph was found not to serve has a graph of its own.
        string? specKey = names != null ? Key(backend, args, null) : null;
        if (specKey != null && _cache.ContainsKey(specKey)) (names, key) = (null, specKey);
        if (!_cache.TryGetValue(key, out var entry))
        {
            bool symbolic = false;
            if (names != null) (entry, symbolic) = TraceSymbolic(backend, args, names, key);
            else entry = Trace(backend, Specs(args));
            // Keyed by the state list seen BEFORE tracing. When tracing created state (an optimizer's first step), the next
            // call sees a longer list: the same graph serves it (one trace, one session) unless host code branched on that
            // state's existence (SGD's first momentum step), which needs a trace with the state present.
            _cache[key] = entry;
            if (entry.CreatedStateReusable || symbolic) _cache[Key(backend, args, names)] = entry;
        }
        else if (entry.Check is { } check && specKey != null && !check.Verified.Contains(specKey))
        {
            if (Verifies(check, backend, null, Specs(args), names!) is { } mismatch)
            {
                SymbolicFallbackReason = mismatch;
                Console.Error.WriteLine($"DualFramework warning: {Name}: the symbolic graph does not serve these sizes ({mismatch}); they are traced on their own.");
                entry = Trace(backend, Specs(args));
                _cache[specKey] = entry;
            }
            else check.Verified.Add(specKey);
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
        if (_inputSignature?.Arguments is { } sig) CheckInputSignature(args, sig);
        if (_signature == null) return;
        if (args.Length == _signature.Length)
        {
            bool ok = true;
            for (int i = 0; i < args.Length; i++) ok &= args[i].Rank == _signature[i].Shape.Rank && args[i].DType == _signature[i].DType;
            if (ok) return;
        }
        ReportSignature(args.ToArray(), _signature);
    }

    // Checked on every call, so without allocating: same-named dims are compared pairwise (signatures are small).
    private void CheckInputSignature(ReadOnlySpan<Tensor> args, IReadOnlyList<TensorSignature> sig)
    {
        if (args.Length != sig.Count) throw new ArgumentException($"{Name} expects {_inputSignature}: {sig.Count} argument(s), got {args.Length}.", nameof(args));
        for (int i = 0; i < args.Length; i++)
        {
            if (!sig[i].Accepts(args[i].Spec)) throw new ArgumentException($"{Name} expects {_inputSignature}: argument {i} must be {sig[i]}, got {args[i].Spec}.", nameof(args));
            for (int a = 0; a < sig[i].Rank; a++)
            {
                if (sig[i].NameAt(a) is not { } n) continue;
                for (int j = 0; j <= i; j++)
                    for (int b = 0; b < (j < i ? sig[j].Rank : a); b++)
                        if (sig[j].NameAt(b) == n && args[j].Shape[b] != args[i].Shape[a])
                            throw new ArgumentException($"{Name} expects {_inputSignature}: dim '{n}' is {args[j].Shape[b]} in argument {j} (axis {b}) but {args[i].Shape[a]} in argument {i} (axis {a}).", nameof(args));
            }
        }
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

    // The signature of a call: open dims appear by their symbol's name, so every size of them shares the key.
    private string Key(IComputeBackend backend, ReadOnlySpan<Tensor> args, string?[][]? names)
    {
        var sb = new StringBuilder();
        sb.Append(backend.Name).Append('@').Append(backend.Device).Append('|').Append(Autograd.IsGradEnabled ? 'g' : 'n')
            .Append(_model?.Training == true ? 't' : 'e').Append(Diagnostics.AnomalyMode.IsEnabled ? "a|" : "|");
        for (int i = 0; i < args.Length; i++)
        {
            if (names == null) sb.Append(args[i].Spec);
            else
            {
                sb.Append(args[i].DType.Name()).Append('[');
                for (int a = 0; a < args[i].Rank; a++) sb.Append(a > 0 ? ", " : "").Append(names[i][a] ?? args[i].Shape[a].ToString(System.Globalization.CultureInfo.InvariantCulture));
                sb.Append(']');
            }
            sb.Append(';');
        }
        sb.Append('|');
        foreach (var v in _state) sb.Append(v.Spec).Append(';');
        return sb.ToString();
    }

    // Keys of signatures whose open dims did not generalise (traced per shape since).
    private readonly HashSet<string> _specialised = [];

    private static TensorSpec[] Specs(ReadOnlySpan<Tensor> args)
    {
        var specs = new TensorSpec[args.Length];
        for (int i = 0; i < specs.Length; i++) specs[i] = args[i].Spec;
        return specs;
    }

    // The symbol of each open dim of this call's arguments, or null: no input signature, or (with SymbolicBatch) arguments
    // whose leading sizes differ, which then trace per shape.
    private string?[][]? SymbolNames(ReadOnlySpan<Tensor> args)
    {
        if (_inputSignature == null) return null;
        var names = _inputSignature.Names(args);
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
            for (int a = 0; a < names[i].Length; a++)
                if (names[i][a] is { } n && sizes.TryGetValue(n, out var seen) && seen != args[i].Shape[a]) return null;
                else if (names[i][a] is { } m) sizes[m] = args[i].Shape[a];
        return names;
    }

    /// <summary>
    /// One graph for every size of the open dims: a trace at the call's sizes first (it creates the state a first step
    /// makes, e.g. optimizer moments), then traces at <see cref="SymbolicGraphs.SamplePoints"/>, each optimised and prepared
    /// for the backend, generalised into one graph and compiled once. When the first step's graph differs from later ones
    /// (host code branched on missing state) that first trace is compiled for this call and the generalisation waits for the
    /// next. When the traces do not generalise, the call's shape is traced alone and so is every later size.
    /// </summary>
    private (Entry Entry, bool Symbolic) TraceSymbolic(IComputeBackend backend, ReadOnlySpan<Tensor> args, string?[][] names, string key)
    {
        var actual = Specs(args);
        if (names.All(n => n.All(d => d == null))) return (Trace(backend, actual), false); // no open dim in this call
        var first = TraceGraph(backend, actual);
        if (first.CreatedState && first.Branched)
        {
            CountTrace();
            LastTracedGraph = first.Graph.Clone();
            var (g0, c0) = Optimize(first, backend);
            return (MakeEntry(backend.Compile(g0), g0, first, c0), false);
        }
        var symbols = new List<DimSymbol>();
        int inputOffset = _state.Count; // graph inputs: the state (settled now), then the arguments
        for (int i = 0; i < names.Length; i++)
            for (int a = 0; a < names[i].Length; a++)
                if (names[i][a] is { } n && symbols.All(x => x.Name != n)) symbols.Add(new DimSymbol(n, inputOffset + i, a));
        try
        {
            var points = SymbolicGraphs.SamplePoints(symbols.Select(x => x.Name).ToArray());
            var traces = new Traced[points.Count];
            for (int p = 0; p < traces.Length; p++)
            {
                var specs = new TensorSpec[actual.Length];
                for (int i = 0; i < specs.Length; i++)
                    specs[i] = new TensorSpec(new Shape(actual[i].Shape.ToArray().Select((d, a) => names[i][a] is { } n ? points[p][n] : d).ToArray()), actual[i].DType);
                traces[p] = TraceGraph(backend, specs);
                if (traces[p].CreatedState) throw new SymbolicShapeException("tracing at another size created new state");
            }
            var traced = traces[0].Graph.Clone();
            using var sampleBuild = SymbolicGraphs.SampleBuild();
            var optimized = traces.Select(t => Optimize(t, backend)).ToArray();
            Graph graph;
            Graph[] samples;
            bool prepared = true;
            try
            {
                var builds = optimized.Select(o => backend.Prepare(o.Graph)).ToArray();
                samples = builds.Select(b => b.Clone()).ToArray();
                graph = SymbolicGraphs.Generalize(builds, points, symbols);
            }
            catch (SymbolicShapeException)
            {
                // The backend's own rewrites depend on the sizes: generalise without them.
                prepared = false;
                samples = optimized.Select(o => o.Graph.Clone()).ToArray();
                graph = SymbolicGraphs.Generalize(optimized.Select(o => o.Graph).ToArray(), points, symbols);
            }
            graph.Verify();
            var check = new SymbolicCheck(samples, points, symbols, prepared);
            // The call's own sizes are checked like any later size (its trace was made first).
            if (Verifies(check, backend, first.CreatedState ? null : first, actual, names) is { } mismatch)
                throw new SymbolicShapeException($"at the call's own sizes: {mismatch}");
            IExecutable exe;
            try
            {
                exe = backend.Compile(graph);
            }
            catch (NotSupportedException e)
            {
                // The backend cannot compute some size-dependent attribute at run time (e.g. a random op's shape).
                throw new SymbolicShapeException($"{backend.Name} cannot compile it: {e.Message}", e);
            }
            CountTrace();
            LastTracedGraph = traced;
            SymbolicFallbackReason = null;
            var entry = MakeEntry(exe, graph, traces[0], optimized[0].Checks);
            entry.Check = check;
            check.Verified.Add(Key(backend, args, null));
            return (entry, true);
        }
        catch (SymbolicShapeException e)
        {
            SymbolicFallbackReason = e.Message;
            Console.Error.WriteLine($"DualFramework warning: {Name}: the open dims of {_inputSignature} cannot stay symbolic ({e.Message}); each size is traced on its own.");
            _specialised.Add(key);
            return (Trace(backend, actual), false);
        }
    }

    /// <summary>What a symbolic entry was generalised from, to check it at each new size: the sample builds (copies),
    /// their sizes, the symbols, whether the backend's rewrites were part of them, and the sizes checked so far.</summary>
    private sealed record SymbolicCheck(Graph[] Samples, IReadOnlyList<IReadOnlyDictionary<string, long>> Points, IReadOnlyList<DimSymbol> Symbols, bool Prepared)
    {
        public HashSet<string> Verified { get; } = [];
    }

    /// <summary>
    /// The guard of a symbolic graph at sizes it has not run at: the function traced at those sizes must generalise
    /// together with the sample builds (same ops and wiring; every size the fitted expression). Host code that branches
    /// on a size outside the sample sizes (<c>if (x.Shape[0] &gt; 100)</c>), or an op that behaves differently at size 1,
    /// is caught here and those sizes get a graph of their own. Returns the mismatch, or null when the sizes fit.
    /// </summary>
    private string? Verifies(SymbolicCheck check, IComputeBackend backend, Traced? traced, TensorSpec[] actual, string?[][] names)
    {
        var t = traced ?? TraceGraph(backend, actual);
        if (t.CreatedState) return "tracing created new state";
        using var sampleBuild = SymbolicGraphs.SampleBuild();
        var (g, _) = Optimize(t, backend);
        if (check.Prepared) g = backend.Prepare(g);
        var point = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++)
            for (int a = 0; a < names[i].Length; a++)
                if (names[i][a] is { } n) point[n] = actual[i].Shape[a];
        try
        {
            SymbolicGraphs.Generalize([.. check.Samples.Select(x => x.Clone()), g], [.. check.Points, point], check.Symbols);
            return null;
        }
        catch (SymbolicShapeException e)
        {
            return e.Message;
        }
    }

    /// <summary>Traces the function for arguments of <paramref name="args"/> without compiling or running it (exporters);
    /// returns the graph as traced, before passes. State the trace creates joins <see cref="State"/>.</summary>
    internal Graph TraceOnly(IComputeBackend backend, TensorSpec[] args)
    {
        var t = TraceGraph(backend, args);
        CountTrace();
        return LastTracedGraph = t.Graph;
    }

    /// <summary>One run of the function on symbolic tensors: the graph as traced and how to feed it.</summary>
    private sealed record Traced(Graph Graph, InputSource[] Sources, Variable[] AllState, int DeclaredState, int Results,
        Action<double[]>[] Host, int Scalars, bool CreatedState, bool Branched);

    // A graph for arguments of exactly these specs (as every call without an input signature gets).
    private Entry Trace(IComputeBackend backend, TensorSpec[] args)
    {
        var t = TraceGraph(backend, args);
        CountTrace();
        LastTracedGraph = t.Graph.Clone();
        var (graph, checks) = Optimize(t, backend);
        return MakeEntry(backend.Compile(graph), graph, t, checks);
    }

    private void CountTrace()
    {
        TraceCount++;
        if (TraceCount == RetraceWarningThreshold + 1)
            Console.Error.WriteLine($"DualFramework warning: {Name} was traced {TraceCount} times (each new argument shape, dtype, mode " +
                "or state traces anew, which is slow); pass an InputSignature with open dims (e.g. InputSignature.SymbolicBatch) so one trace serves every size.");
    }

    private Traced TraceGraph(IComputeBackend backend, TensorSpec[] args)
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
        TraceRunCount++;
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
                    symArgs[i] = sym.Wrap(graph.AddInput(args[i], ctx.UniqueName($"arg{i}")));
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
        var allState = state.Concat(ctx.LateState.Select(l => l.Var)).ToArray();
        return new Traced(graph, sources.ToArray(), allState, state.Length, results.Length, ctx.HostActions.ToArray(), ctx.ScalarCount,
            ctx.LateState.Count > 0, ctx.BranchedOnMissingState);
    }

    // The passes, then (debug builds, docs/reliability.md) per-node finiteness flags as one extra result after the function's own.
    private (Graph Graph, GraphAnomalyChecks? Checks) Optimize(Traced t, IComputeBackend backend)
    {
        var graph = t.Graph;
        bool training = _model?.Training ?? false;
        _passes(backend, training).Run(graph);
        graph.Verify();
        var checks = Diagnostics.AnomalyMode.IsEnabled ? GraphAnomalyChecks.Add(graph, backend, t.Results, Name) : null;
        return (graph, checks);
    }

    private Entry MakeEntry(IExecutable exe, Graph graph, Traced t, GraphAnomalyChecks? checks)
    {
        LastGraph = graph;
        var entry = new Entry(exe, graph, t.Sources, t.AllState, t.DeclaredState, t.Results + (checks != null ? 1 : 0), t.Host, t.Scalars)
        {
            CreatedStateReusable = t.CreatedState && !t.Branched,
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
