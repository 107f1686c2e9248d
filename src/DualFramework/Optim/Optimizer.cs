using DualFramework.Autodiff;
using DualFramework.NN;

namespace DualFramework.Optim;

/// <summary>
/// Base class of optimizers. Update rules are written with <see cref="Ops"/> and applied through
/// <see cref="Variable.Assign"/>, so they run on every backend and can be traced into a graph. Per-parameter state
/// (momentum buffers, moments) lives in non-trainable variables and is part of <see cref="StateDict"/>.
/// </summary>
public abstract class Optimizer : IDisposable
{
    private readonly Variable[] _params;
    private readonly string[] _names;
    private readonly Dictionary<(int, string), Variable> _state = [];

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
    }

    /// <summary>The learning rate used by the next <see cref="Step"/> (schedules change it).</summary>
    public double LearningRate { get; set; }

    /// <summary>The learning rate given at construction (schedules scale it).</summary>
    public double BaseLearningRate { get; }

    /// <summary>Number of completed steps.</summary>
    public long StepCount { get; private set; }

    /// <summary>The optimised parameters.</summary>
    public IReadOnlyList<Variable> Parameters => _params;

    /// <summary>Clears every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _params) p.ZeroGrad();
    }

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    public void Step()
    {
        StepCount++;
        using var scope = TensorScope.Begin();
        using var noGrad = Autograd.NoGrad();
        for (int i = 0; i < _params.Length; i++)
        {
            var g = _params[i].Grad;
            if (g == null) continue;
            Update(i, _params[i], g);
        }
    }

    /// <summary>Computes and assigns the new value of parameter <paramref name="index"/> from its gradient.</summary>
    protected abstract void Update(int index, Variable parameter, Tensor grad);

    /// <summary>The state variable <paramref name="name"/> of parameter <paramref name="index"/>, created as zeros on first use.</summary>
    protected Variable State(int index, string name)
    {
        if (!_state.TryGetValue((index, name), out var v))
        {
            var p = _params[index].Value;
            v = new Variable(Ops.ZerosLike(p), trainable: false, $"{_names[index]}.{name}");
            _state[(index, name)] = v;
        }
        return v;
    }

    /// <summary>True once state <paramref name="name"/> exists for parameter <paramref name="index"/>.</summary>
    protected bool HasState(int index, string name) => _state.ContainsKey((index, name));

    /// <summary>
    /// The optimizer's state: <c>step</c> (int64 scalar), <c>lr</c> (float64 scalar) and every per-parameter buffer as
    /// <c>&lt;parameter name&gt;.&lt;buffer&gt;</c>. Values are live tensors (copy them to keep a snapshot).
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>();
        var backend = _params[0].Value.Backend;
        d["step"] = Tensor.Scalar(StepCount, backend).DetachFromScope();
        d["lr"] = Tensor.Scalar(LearningRate, backend).DetachFromScope();
        foreach (var ((i, n), v) in _state.OrderBy(kv => kv.Key)) d[$"{_names[i]}.{n}"] = v.Value;
        return d;
    }

    /// <summary>Restores state saved by <see cref="StateDict"/>; every problem is reported at once.</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        var problems = new List<string>();
        if (!state.TryGetValue("step", out var step) || step.DType != DType.Int64 || step.NumElements != 1) problems.Add("missing or invalid 'step' (int64 scalar)");
        if (!state.TryGetValue("lr", out var lr) || lr.DType != DType.Float64 || lr.NumElements != 1) problems.Add("missing or invalid 'lr' (float64 scalar)");
        var entries = new List<(int, string, Tensor)>();
        foreach (var (key, t) in state)
        {
            if (key is "step" or "lr") continue;
            int i = Array.FindIndex(_names, n => key.StartsWith(n + ".", StringComparison.Ordinal) && !key[(n.Length + 1)..].Contains('.'));
            if (i < 0) { problems.Add($"unexpected '{key}'"); continue; }
            if (t.Spec != _params[i].Spec) { problems.Add($"'{key}': expected {_params[i].Spec}, got {t.Spec}"); continue; }
            entries.Add((i, key[(_names[i].Length + 1)..], t));
        }
        if (problems.Count > 0)
            throw new StateDictException($"Cannot load optimizer state into {GetType().Name}: {string.Join("; ", problems)}", problems);
        StepCount = (long)step!.Item();
        LearningRate = lr!.Item();
        foreach (var (i, n, t) in entries)
        {
            var bytes = new byte[t.NumElements * t.DType.ElementSize()];
            t.Backend.ToBytes(t.Handle, t.Spec, bytes);
            State(i, n).Assign(Tensor.FromBytes(bytes, t.Spec, _params[i].Value.Backend));
        }
    }

    /// <summary>Frees the optimizer's state.</summary>
    public void Dispose()
    {
        foreach (var v in _state.Values) v.Dispose();
        _state.Clear();
        GC.SuppressFinalize(this);
    }
}
