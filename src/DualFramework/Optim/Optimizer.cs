using DualFramework.Autodiff;
using DualFramework.IR;
using DualFramework.NN;

namespace DualFramework.Optim;

/// <summary>
/// Base class of optimizers. Update rules are written with <see cref="Ops"/> and applied through
/// <see cref="Variable.Assign"/>, so they run on every backend and can be traced into a graph. Per-parameter state
/// (momentum buffers, moments) lives in non-trainable variables and is part of <see cref="StateDict"/>. After each
/// parameter's update, its <see cref="Variable.Constraint"/> (if any) is applied, eagerly and inside traced steps alike.
/// </summary>
public abstract class Optimizer : IDisposable
{
    private readonly Variable[] _params;
    private readonly string[] _names;
    private readonly Dictionary<(int, string), Variable> _state = [];
    private readonly long[] _paramSteps;

    /// <summary>Creates an optimizer over <paramref name="parameters"/> (trainable variables).</summary>
    protected Optimizer(IEnumerable<Variable> parameters, double learningRate)
    {
        _params = parameters.ToArray();
        if (_params.Length == 0) throw new ArgumentException("The optimizer got no parameters.", nameof(parameters));
        if (_params.Any(p => !p.Trainable)) throw new ArgumentException("Optimizers update trainable variables only.", nameof(parameters));
        if (!(learningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "must be non-negative");
        _names = _params.Select((p, i) => string.IsNullOrEmpty(p.Name) ? $"param{i}" : p.Name).ToArray();
        if (_names.Distinct().Count() != _names.Length) _names = _params.Select((_, i) => $"param{i}").ToArray();
        LearningRate = learningRate;
        BaseLearningRate = learningRate;
        _paramSteps = new long[_params.Length];
    }

    /// <summary>The learning rate used by the next <see cref="Step"/> (schedules change it).</summary>
    public double LearningRate { get; set; }

    /// <summary>The learning rate given at construction (schedules scale it).</summary>
    public double BaseLearningRate { get; }

    /// <summary>Number of completed steps.</summary>
    public long StepCount { get; private set; }

    /// <summary>The optimised parameters.</summary>
    public IReadOnlyList<Variable> Parameters => _params;

    /// <summary>Clears every parameter's gradient (sets it to null, like PyTorch's <c>zero_grad(set_to_none=True)</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var p in _params)
        {
            // On the tape the parameter owns its gradient tensor; dropping the reference alone would leak it.
            var tapeGrad = Autograd.UsesNative(p.Value.Backend) ? null : p.Value.TapeGrad;
            p.ZeroGrad();
            tapeGrad?.Dispose();
        }
    }

    /// <summary>
    /// Applies one update to every parameter that has a gradient. Gradients are kept (moved onto the new values), as
    /// PyTorch keeps <c>.grad</c> after <c>step()</c>: call <see cref="ZeroGrad"/> before the next backward pass.
    /// </summary>
    public void Step() => StepCore(null);

    /// <summary>
    /// <see cref="Step"/> unless <paramref name="skip"/> (a bool scalar, e.g. <see cref="MixedPrecision.LossScaler.Unscale"/>'s
    /// non-finite flag) is true; returns whether it stepped. Eagerly the flag is read on the host. Inside a traced function
    /// the decision stays in the graph: every parameter and state buffer becomes <c>where(skip, old, new)</c>, and the
    /// traced function's caller reports a skipped run with <see cref="RevertStepCounters"/>. The return value is then true.
    /// </summary>
    public bool StepUnless(Tensor skip)
    {
        ArgumentNullException.ThrowIfNull(skip);
        if (SymbolicTrace.Current != null && SymbolicTrace.IsSymbolic(skip))
        {
            StepCore(skip);
            return true;
        }
        if (skip.Item() != 0) return false;
        StepCore(null);
        return true;
    }

    /// <summary>
    /// Undoes the counter increments of the last <see cref="Step"/> (the step count and each parameter's count, which feed
    /// bias corrections): for a compiled step whose masked update (<see cref="StepUnless"/>) turned out to be skipped.
    /// </summary>
    public void RevertStepCounters()
    {
        StepCount = _countsBeforeStep.Step;
        Array.Copy(_countsBeforeStep.Params, _paramSteps, _paramSteps.Length);
    }

    private (long Step, long[] Params) _countsBeforeStep = (0, []);

    private void SaveCounts()
    {
        if (_countsBeforeStep.Params.Length != _paramSteps.Length) _countsBeforeStep.Params = new long[_paramSteps.Length];
        _countsBeforeStep.Step = StepCount;
        Array.Copy(_paramSteps, _countsBeforeStep.Params, _paramSteps.Length);
    }

    private readonly Dictionary<(int, string), Tensor> _createdInStep = [];

    private void StepCore(Tensor? skip)
    {
        _createdInStep.Clear();
        var trace = SymbolicTrace.Current;
        if (trace != null) BeginTracedStep(trace);
        SaveCounts();
        StepCount++;
        using var scope = TensorScope.Begin();
        using var noGrad = Autograd.NoGrad();
        for (int i = 0; i < _params.Length; i++)
        {
            var p = _params[i];
            var old = p.Value;
            var g = old.Grad;
            if (g == null) continue;
            _paramSteps[i]++;
            if (trace != null)
            {
                int k = i;
                trace.HostActions.Add(_ => _paramSteps[k]++);
            }
            // On the tape the gradient is owned by the old value, which Assign disposes: take it over first.
            // (With native autograd g is a scoped handle and libtorch keeps the gradient alive.)
            bool tape = !Autograd.UsesNative(old.Backend);
            if (tape) old.TapeGrad = null;
            try
            {
                var before = skip == null ? null : StateOf(i);
                Update(i, p, g);
                // After the update (which may have been in place) and before masking a skipped step, which keeps the old value.
                if (p.Constraint is { } constrain) p.Assign(constrain(p.Value));
                if (skip != null) MaskUpdate(i, p, old, before!, skip);
            }
            finally
            {
                if (!ReferenceEquals(p.Value, old)) p.Value.Grad = g;
                else if (tape) old.TapeGrad = g;
            }
        }
    }

    // A traced step runs once at trace time but stands for every later run of the compiled graph: its host-side effects
    // (the step counters) are undone when the trace ends and replayed before each run, so that the step-dependent scalars
    // (bias corrections…), which are graph inputs, are computed from the right counters.
    private void BeginTracedStep(TraceContext trace)
    {
        if (trace.FirstRegistration(this))
        {
            // State that exists before the first trace (loaded by LoadStateDict when resuming) is not in the function's
            // state list: it joins it like state created while tracing, so its updates become graph outputs.
            foreach (var ((i, _), v) in _state.OrderBy(kv => kv.Key))
                if (IsTraced(_params[i].Value) && !IsTraced(v.Value)) trace.AddLateState(v);
            long step = StepCount;
            var steps = (long[])_paramSteps.Clone();
            trace.Undo.Add(() =>
            {
                StepCount = step;
                Array.Copy(steps, _paramSteps, steps.Length);
            });
        }
        trace.HostActions.Add(_ =>
        {
            SaveCounts();
            StepCount++;
        });
    }

    private Dictionary<string, Tensor> StateOf(int index)
    {
        var d = new Dictionary<string, Tensor>();
        foreach (var ((i, n), v) in _state)
            if (i == index) d[n] = v.Value;
        return d;
    }

    // A traced update kept only where skip is false: the old value (or zeros, for state the update created) otherwise.
    private void MaskUpdate(int index, Variable parameter, Tensor oldValue, Dictionary<string, Tensor> before, Tensor skip)
    {
        if (!ReferenceEquals(parameter.Value, oldValue)) parameter.Assign(Ops.Where(skip, oldValue, parameter.Value));
        foreach (var ((i, n), v) in _state)
        {
            if (i != index) continue;
            if (before.TryGetValue(n, out var was))
            {
                if (!ReferenceEquals(was, v.Value)) v.Assign(Ops.Where(skip, was, v.Value));
            }
            else
            {
                var initial = _createdInStep.TryGetValue((i, n), out var input) ? input : Ops.ZerosLike(v.Value);
                v.Assign(Ops.Where(skip, initial, v.Value));
            }
        }
    }

    /// <summary>
    /// <paramref name="x"/> times a host-side scalar that may change from step to step (learning rate, bias corrections).
    /// Eagerly this is <c>Ops.Mul(x, value())</c>; inside a traced function the scalar becomes a graph input that
    /// <paramref name="value"/> recomputes before every run of the compiled graph, so no stale value is baked in.
    /// </summary>
    protected Tensor MulByHostScalar(int index, Tensor x, string what, Func<double> value)
    {
        var trace = SymbolicTrace.Current;
        if (trace == null || !SymbolicTrace.IsSymbolic(x)) return Ops.Mul(x, value());
        return Ops.Mul(x, trace.ScalarInput($"{_names[index]}.{what}", x.DType, value));
    }

    /// <summary>A rank-0 tensor of <paramref name="like"/>'s dtype holding a step-dependent host scalar: a constant eagerly,
    /// a graph input recomputed before every run inside a traced function (see <see cref="MulByHostScalar"/>).</summary>
    protected Tensor HostScalar(int index, Tensor like, string what, Func<double> value)
    {
        var trace = SymbolicTrace.Current;
        if (trace == null || !SymbolicTrace.IsSymbolic(like)) return Ops.Full(Shape.Scalar, value(), like.DType, like.Backend);
        return trace.ScalarInput($"{_names[index]}.{what}", like.DType, value);
    }

    /// <summary>True while <paramref name="t"/> is a symbolic tensor of a traced function.</summary>
    protected static bool IsTraced(Tensor t) => SymbolicTrace.IsSymbolic(t);

    /// <summary>
    /// Number of updates parameter <paramref name="index"/> has received, counting the one in progress during
    /// <see cref="Update"/> (PyTorch's per-parameter <c>state["step"]</c>: a step where it had no gradient is not counted).
    /// </summary>
    protected long ParamStepCount(int index) => _paramSteps[index];

    /// <summary>The names of the per-parameter buffers this optimizer may create (checked by <see cref="LoadStateDict"/>),
    /// or null to accept any.</summary>
    protected virtual IReadOnlyCollection<string>? BufferNames => null;

    /// <summary>Computes and assigns the new value of parameter <paramref name="index"/> from its gradient.</summary>
    protected abstract void Update(int index, Variable parameter, Tensor grad);

    /// <summary>The state variable <paramref name="name"/> of parameter <paramref name="index"/>, created as zeros on first use.</summary>
    protected Variable State(int index, string name)
    {
        if (!_state.TryGetValue((index, name), out var v))
        {
            var p = _params[index].Value;
            if (SymbolicTrace.Current is { } trace && IsTraced(p))
            {
                // Created while tracing: the buffer gets a concrete value and joins the traced function's state.
                v = new Variable(Ops.Zeros(p.Shape, p.DType, trace.Backend.Target).DetachFromScope(), trainable: false, $"{_names[index]}.{name}");
                _state[(index, name)] = v;
                trace.AddLateState(v);
                _createdInStep[(index, name)] = v.Value; // the graph input holding the buffer's value before this run
                return v;
            }
            v = new Variable(Ops.ZerosLike(p), trainable: false, $"{_names[index]}.{name}");
            _state[(index, name)] = v;
        }
        return v;
    }

    /// <summary>True once state <paramref name="name"/> exists for parameter <paramref name="index"/>.</summary>
    protected bool HasState(int index, string name)
    {
        bool has = _state.ContainsKey((index, name));
        if (!has && SymbolicTrace.Current is { } trace) trace.BranchedOnMissingState = true;
        return has;
    }

    /// <summary>
    /// The optimizer's state: <c>step</c> (int64 scalar), <c>lr</c> (float64 scalar), <c>&lt;parameter name&gt;.step</c>
    /// (int64 scalar, per parameter that has been updated) and every per-parameter buffer as
    /// <c>&lt;parameter name&gt;.&lt;buffer&gt;</c> (the parameter's shape and dtype). Parameters without a name (or with
    /// duplicate names) are called <c>param&lt;i&gt;</c>. Buffer values are live tensors, replaced by the next
    /// <see cref="Step"/> (copy them to keep a snapshot); the scalars are new tensors the caller owns.
    /// </summary>
    public OptimizerState StateDict()
    {
        var d = new Dictionary<string, Tensor>();
        var owned = new List<Tensor>();
        var backend = _params[0].Value.Backend;
        Tensor Fresh(Tensor t)
        {
            owned.Add(t.DetachFromScope());
            return t;
        }
        d["step"] = Fresh(Tensor.Scalar(StepCount, backend));
        d["lr"] = Fresh(Tensor.Scalar(LearningRate, backend));
        for (int i = 0; i < _params.Length; i++)
            if (_paramSteps[i] > 0) d[$"{_names[i]}.step"] = Fresh(Tensor.Scalar(_paramSteps[i], backend));
        foreach (var ((i, n), v) in _state.OrderBy(kv => kv.Key)) d[$"{_names[i]}.{n}"] = v.Value;
        return new OptimizerState(d, owned);
    }

    /// <summary>
    /// Restores state saved by <see cref="StateDict"/>, replacing all current state (buffers absent from
    /// <paramref name="state"/> are dropped, as in PyTorch). Nothing is changed when anything is wrong; every problem is
    /// reported at once in a <see cref="StateDictException"/>. The tensors are copied, so <paramref name="state"/> may be
    /// this optimizer's own live state dict.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        var problems = new List<string>();
        static bool IsInt64Scalar(Tensor? t) => t != null && t.DType == DType.Int64 && t.NumElements == 1;
        if (!state.TryGetValue("step", out var step) || !IsInt64Scalar(step) || step.Item() < 0) problems.Add("missing or invalid 'step' (non-negative int64 scalar)");
        if (!state.TryGetValue("lr", out var lr) || lr.DType != DType.Float64 || lr.NumElements != 1 || !(lr.Item() is >= 0 and < double.PositiveInfinity))
            problems.Add("missing or invalid 'lr' (non-negative finite float64 scalar)");
        var entries = new List<(int, string, Tensor)>();
        var steps = new long[_params.Length];
        var known = BufferNames;
        foreach (var (key, t) in state)
        {
            if (key is "step" or "lr") continue;
            int i = Array.FindIndex(_names, n => key.StartsWith(n + ".", StringComparison.Ordinal) && !key[(n.Length + 1)..].Contains('.'));
            if (i < 0) { problems.Add($"unexpected '{key}' (no such parameter)"); continue; }
            var buffer = key[(_names[i].Length + 1)..];
            if (buffer == "step")
            {
                if (!IsInt64Scalar(t) || t.Item() < 0) problems.Add($"'{key}': expected a non-negative int64 scalar, got {t.Spec}");
                else steps[i] = (long)t.Item();
                continue;
            }
            if (known != null && !known.Contains(buffer)) { problems.Add($"unexpected '{key}' ({GetType().Name} has no buffer '{buffer}')"); continue; }
            if (t.Spec != _params[i].Spec) { problems.Add($"'{key}': expected {_params[i].Spec}, got {t.Spec}"); continue; }
            entries.Add((i, buffer, t));
        }
        if (problems.Count > 0)
            throw new StateDictException($"Cannot load optimizer state into {GetType().Name}: {string.Join("; ", problems)}", problems);
        // Copy everything before freeing the current buffers, which may be the very tensors being loaded.
        var copies = entries.Select(e =>
        {
            var (i, n, t) = e;
            var bytes = t.ToBytes();
            return (i, n, Tensor.FromBytes(bytes, t.Spec, _params[i].Value.Backend).DetachFromScope());
        }).ToList();
        StepCount = (long)step!.Item();
        LearningRate = lr!.Item();
        foreach (var v in _state.Values) v.Dispose();
        _state.Clear();
        Array.Copy(steps, _paramSteps, steps.Length);
        foreach (var (i, n, t) in copies) _state[(i, n)] = new Variable(t, trainable: false, $"{_names[i]}.{n}");
    }

    /// <summary>Frees the optimizer's state.</summary>
    public void Dispose()
    {
        foreach (var v in _state.Values) v.Dispose();
        _state.Clear();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// An optimizer's state dict. Buffers are the optimizer's live tensors; the counters and the learning rate are scalars made
/// for this snapshot, which <see cref="Dispose"/> frees (the live buffers stay with the optimizer).
/// </summary>
public sealed class OptimizerState : IReadOnlyDictionary<string, Tensor>, IDisposable
{
    private readonly Dictionary<string, Tensor> _entries;
    private readonly List<Tensor> _owned;

    internal OptimizerState(Dictionary<string, Tensor> entries, List<Tensor> owned)
    {
        _entries = entries;
        _owned = owned;
    }

    /// <inheritdoc />
    public Tensor this[string key] => _entries[key];

    /// <inheritdoc />
    public IEnumerable<string> Keys => _entries.Keys;

    /// <inheritdoc />
    public IEnumerable<Tensor> Values => _entries.Values;

    /// <inheritdoc />
    public int Count => _entries.Count;

    /// <inheritdoc />
    public bool ContainsKey(string key) => _entries.ContainsKey(key);

    /// <inheritdoc />
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Tensor value) => _entries.TryGetValue(key, out value);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => _entries.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Frees the snapshot's own scalars.</summary>
    public void Dispose()
    {
        foreach (var t in _owned) t.Dispose();
        _owned.Clear();
    }
}
