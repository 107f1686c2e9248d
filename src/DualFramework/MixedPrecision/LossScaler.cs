using System.Globalization;
using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.NN;
using DualFramework.Optim;

namespace DualFramework.MixedPrecision;

/// <summary>
/// Dynamic loss scaling for float16 training (PyTorch's <c>GradScaler</c>, Keras' <c>LossScaleOptimizer</c>): the loss is
/// multiplied by <see cref="Scale"/> before the backward pass so that small gradients survive float16, the gradients are
/// divided by it before the update, and a step whose gradients hold an inf or NaN is skipped and counted. The scale is
/// multiplied by <see cref="BackoffFactor"/> after such a step and by <see cref="GrowthFactor"/> after
/// <see cref="GrowthInterval"/> clean steps in a row.
/// </summary>
/// <remarks>
/// The state (scale, clean-step counter, skipped steps) lives in three scalar variables, so a traced train step updates
/// it inside the graph: the skip is data-dependent (<see cref="Optimizer.StepUnless"/> masks the update), with no host
/// round trip. <see cref="Training.Trainer"/>-made checkpoints save and restore it (<see cref="StateDict"/>).
/// </remarks>
public sealed class LossScaler : IDisposable
{
    private readonly Variable _scale, _growthTracker, _skipped;

    /// <summary>Creates a scaler with PyTorch's defaults: scale 2^16, growth ×2 after 2000 clean steps, backoff ×0.5.</summary>
    public LossScaler(double initialScale = 65536, double growthFactor = 2, double backoffFactor = 0.5, int growthInterval = 2000,
        IComputeBackend? backend = null)
    {
        if (!(initialScale > 0) || double.IsInfinity(initialScale)) throw new ArgumentOutOfRangeException(nameof(initialScale), initialScale, "must be positive and finite");
        if (!(growthFactor > 1)) throw new ArgumentOutOfRangeException(nameof(growthFactor), growthFactor, "must be > 1");
        if (!(backoffFactor is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(backoffFactor), backoffFactor, "must be in (0, 1)");
        ArgumentOutOfRangeException.ThrowIfLessThan(growthInterval, 1);
        GrowthFactor = growthFactor;
        BackoffFactor = backoffFactor;
        GrowthInterval = growthInterval;
        var b = backend ?? BackendRegistry.Default;
        _scale = new Variable(Tensor.Scalar((float)initialScale, b), trainable: false, "loss_scaler.scale");
        _growthTracker = new Variable(Tensor.Scalar(0L, b), trainable: false, "loss_scaler.growth_tracker");
        _skipped = new Variable(Tensor.Scalar(0L, b), trainable: false, "loss_scaler.skipped_steps");
    }

    /// <summary>Factor applied to the scale after <see cref="GrowthInterval"/> clean steps in a row.</summary>
    public double GrowthFactor { get; }

    /// <summary>Factor applied to the scale after a step with non-finite gradients.</summary>
    public double BackoffFactor { get; }

    /// <summary>Clean steps in a row after which the scale grows.</summary>
    public int GrowthInterval { get; }

    /// <summary>The current scale (reads the state from the backend).</summary>
    public double Scale => _scale.Value.Item();

    /// <summary>Clean steps since the last growth or backoff.</summary>
    public long GrowthTracker => (long)_growthTracker.Value.Item();

    /// <summary>Steps skipped because a gradient was not finite.</summary>
    public long SkippedSteps => (long)_skipped.Value.Item();

    /// <summary>The three state variables (for a traced step's state list).</summary>
    public IReadOnlyList<Variable> Variables => [_scale, _growthTracker, _skipped];

    /// <summary>The loss times the scale, in float32 (call <c>Backward</c> on this).</summary>
    public Tensor ScaleLoss(Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        var l = loss.DType == DType.Float32 ? loss : Ops.Cast(loss, DType.Float32);
        return Ops.Mul(l, _scale.Value);
    }

    /// <summary>
    /// Divides every gradient of <paramref name="parameters"/> by the scale and returns a bool scalar: true when any of
    /// them holds an inf or NaN (the step must then be skipped: pass it to <see cref="Optimizer.StepUnless"/> and
    /// <see cref="Update"/>).
    /// </summary>
    public Tensor Unscale(IEnumerable<Variable> parameters)
    {
        using var noGrad = Autograd.NoGrad();
        Tensor? poison = null;
        Tensor? inverse = null;
        foreach (var p in parameters)
        {
            var g = p.Grad;
            if (g == null) continue;
            inverse ??= Ops.Div(Ops.OnesLike(_scale.Value), _scale.Value);
            var unscaled = Ops.Mul(g, g.DType == DType.Float32 ? inverse : Ops.Cast(inverse, g.DType));
            // x·0 is 0 for finite x and NaN for ±inf and NaN: one NaN-propagating sum per gradient finds them all.
            var s = Ops.Sum(Ops.Mul(Ops.Cast(unscaled, DType.Float32), 0.0));
            poison = poison == null ? s : Ops.Add(poison, s);
            // With native autograd the new gradient lives on in libtorch once set; on the tape the setter takes ownership
            // and the replaced eager gradient, owned by the parameter, is freed (a traced one is only a graph value).
            p.Value.Grad = unscaled;
            if (!Autograd.UsesNative(p.Value.Backend) && !SymbolicTrace.IsSymbolic(g)) g.Dispose();
        }
        if (poison == null) return Ops.Full(Shape.Scalar, 0, DType.Bool, _scale.Value.Backend);
        return Ops.NotEqual(poison, poison);
    }

    /// <summary>Updates the scale, the clean-step counter and the skipped-step count from <paramref name="foundInf"/>
    /// (the result of <see cref="Unscale"/>): as PyTorch's <c>_amp_update_scale_</c>.</summary>
    public void Update(Tensor foundInf)
    {
        ArgumentNullException.ThrowIfNull(foundInf);
        using var noGrad = Autograd.NoGrad();
        var found = foundInf.DType == DType.Bool ? foundInf : Ops.NotEqual(foundInf, 0.0);
        var scale = _scale.Value;
        var next = Ops.Add(_growthTracker.Value, Ops.OnesLike(_growthTracker.Value));
        var grow = Ops.GreaterEqual(next, (double)GrowthInterval);
        var cleanScale = Ops.Where(grow, Ops.Mul(scale, GrowthFactor), scale);
        var cleanTracker = Ops.Where(grow, Ops.ZerosLike(next), next);
        var newScale = Ops.Where(found, Ops.Mul(scale, BackoffFactor), cleanScale);
        var newTracker = Ops.Where(found, Ops.ZerosLike(next), cleanTracker);
        var newSkipped = Ops.Add(_skipped.Value, Ops.Cast(found, DType.Int64));
        _scale.Assign(newScale);
        _growthTracker.Assign(newTracker);
        _skipped.Assign(newSkipped);
    }

    /// <summary>
    /// The eager sequence of one step after <c>ScaleLoss(loss).Backward()</c>: unscale, skip the optimizer step when a
    /// gradient is not finite (reading that flag on the host, as PyTorch's <c>GradScaler.step</c> does), update the scale.
    /// Returns true when the optimizer stepped. Inside a traced function use <see cref="Unscale"/>,
    /// <see cref="Optimizer.StepUnless"/> and <see cref="Update"/>, which keep the decision in the graph.
    /// </summary>
    public bool Step(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        using var scope = TensorScope.Begin();
        var found = Unscale(optimizer.Parameters);
        bool stepped = optimizer.StepUnless(found);
        Update(found);
        return stepped;
    }

    /// <summary>The state as <c>loss_scaler.scale</c> (float32), <c>loss_scaler.growth_tracker</c> and
    /// <c>loss_scaler.skipped_steps</c> (int64) scalars; live tensors, replaced by the next update.</summary>
    public IReadOnlyDictionary<string, Tensor> StateDict() => new Dictionary<string, Tensor>
    {
        [_scale.Name] = _scale.Value,
        [_growthTracker.Name] = _growthTracker.Value,
        [_skipped.Name] = _skipped.Value,
    };

    /// <summary>Restores state saved by <see cref="StateDict"/> (other keys are ignored). Checks all three entries first.</summary>
    /// <exception cref="StateDictException">An entry is missing or has the wrong dtype, shape or value range.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var problems = new List<string>();
        double Read(Variable v, DType dtype, Func<double, bool> valid)
        {
            if (!state.TryGetValue(v.Name, out var t)) { problems.Add($"missing '{v.Name}'"); return 0; }
            if (t.DType != dtype || t.NumElements != 1) { problems.Add($"'{v.Name}': expected a {dtype.Name()} scalar, got {t.Spec}"); return 0; }
            double x = t.Item();
            if (!valid(x)) problems.Add($"'{v.Name}': invalid value {x.ToString(CultureInfo.InvariantCulture)}");
            return x;
        }
        double scale = Read(_scale, DType.Float32, x => x > 0 && double.IsFinite(x));
        double tracker = Read(_growthTracker, DType.Int64, x => x >= 0);
        double skipped = Read(_skipped, DType.Int64, x => x >= 0);
        if (problems.Count > 0) throw new StateDictException($"Cannot load loss-scaler state: {string.Join("; ", problems)}", problems);
        var b = _scale.Value.Backend;
        _scale.Assign(Tensor.Scalar((float)scale, b));
        _growthTracker.Assign(Tensor.Scalar((long)tracker, b));
        _skipped.Assign(Tensor.Scalar((long)skipped, b));
    }

    /// <summary>Frees the state.</summary>
    public void Dispose()
    {
        _scale.Dispose();
        _growthTracker.Dispose();
        _skipped.Dispose();
    }
}
