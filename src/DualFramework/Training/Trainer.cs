using System.Diagnostics;
using System.Globalization;
using DualFramework.Autodiff;
using DualFramework.Checkpoints;
using DualFramework.Data;
using DualFramework.IR;
using DualFramework.Losses;
using DualFramework.MixedPrecision;
using DualFramework.NN;
using DualFramework.Optim;

namespace DualFramework.Training;

/// <summary>
/// Keras-style training for a <see cref="Module"/>: <see cref="Compile"/> with an optimizer, a loss and metrics, then
/// <see cref="Fit"/>, <see cref="Evaluate"/> and <see cref="Predict"/>. <see cref="TrainStep"/> and <see cref="TestStep"/>
/// serve hand-written loops. On the eager backend each step runs eagerly with the backend's autograd. With a
/// <see cref="DistributionStrategy"/> each rank's trainer trains its replica on its shard of every batch, with gradients
/// averaged over replicas (docs/distributed.md).
/// </summary>
/// <remarks>The trainer owns what it creates (the compiled train, eval, gradient and update steps and their backend
/// buffers) and frees it in <see cref="Dispose"/>; the model, the optimizer, the loss and the metrics belong to the
/// caller.</remarks>
public sealed class Trainer : IDisposable
{
    private Optimizer? _optimizer;
    private Loss? _loss;
    private Metric[] _metrics = [];
    private CompiledFunction? _trainFn, _evalFn, _gradFn, _updateFn;
    private Module[]? _modules;
    private Variable? _firstParameter;
    private LossScaler? _lossScaler;
    private bool _ownsLossScaler;
    private bool _disposed;

    /// <summary>Creates a trainer for <paramref name="model"/>, optionally one replica of a data-parallel group.</summary>
    public Trainer(Module model, DistributionStrategy? strategy = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Strategy = strategy;
    }

    /// <summary>The distribution strategy, or null for single-replica training.</summary>
    public DistributionStrategy? Strategy { get; }

    /// <summary>True unless this trainer is a non-root replica of a distributed run: only the root writes checkpoints and
    /// logs (callbacks check this).</summary>
    public bool IsRoot => Strategy?.IsRoot ?? true;

    private bool _strategyReady;

    private void EnsureStrategySetup()
    {
        if (Strategy == null || _strategyReady) return;
        Strategy.Setup(Model);
        _strategyReady = true;
    }

    /// <summary>The model being trained.</summary>
    public Module Model { get; }

    /// <summary>The optimizer given to <see cref="Compile"/>.</summary>
    public Optimizer Optimizer => _optimizer ?? throw NotCompiled();

    /// <summary>The loss given to <see cref="Compile"/>.</summary>
    public Loss Loss => _loss ?? throw NotCompiled();

    /// <summary>The metrics given to <see cref="Compile"/>.</summary>
    public IReadOnlyList<Metric> Metrics => _metrics;

    /// <summary>The dtype policy the model trains under: the model's own (<see cref="Module.Policy"/>, set by
    /// <see cref="Compile"/>'s <c>precision</c>), else <see cref="Precision.GlobalPolicy"/>.</summary>
    public DTypePolicy PrecisionPolicy => Model.Policy ?? Precision.GlobalPolicy;

    /// <summary>The dynamic loss scaler in use, or null (the default under every policy but <c>mixed_float16</c>).</summary>
    public LossScaler? LossScaler => _lossScaler;

    /// <summary>When set, gradients are clipped to this global L2 norm before each update.</summary>
    public double? ClipNorm { get; set; }

    /// <summary>
    /// Whether train and eval steps run as compiled (traced) graphs. Null (the default) compiles on backends without their
    /// own autograd (the graph backend) and runs eagerly on the others (the torch backend), where eager is already fast.
    /// </summary>
    public bool? CompileSteps { get; set; }

    /// <summary>The compiled train step (after the first compiled <see cref="TrainStep"/>), for inspection.</summary>
    public CompiledFunction? CompiledTrainStep => _trainFn;

    /// <summary>The compiled evaluation step (created by the first <see cref="TestStep"/> on a compiling backend), or null.</summary>
    public CompiledFunction? CompiledEvalStep => _evalFn;

    /// <summary>
    /// True (the default): the compiled steps treat the batch axis as symbolic (<see cref="InputSignature.SymbolicBatch"/>),
    /// so a last partial batch, or evaluation with another batch size, reuses the one trace per step kind instead of tracing
    /// and compiling again. Set it before the first step; false traces each batch size on its own.
    /// </summary>
    public bool SymbolicBatch { get; set; } = true;

    private bool UseCompiled()
    {
        if (CompileSteps is { } c) return c && ClipNorm == null; // clipping reads the norm on the host: eager only
        _firstParameter ??= Model.Parameters().FirstOrDefault();
        var backend = _firstParameter?.Value.Backend ?? Backends.BackendRegistry.Default;
        return backend.NativeAutograd == null && ClipNorm == null;
    }

    private IEnumerable<Variable> ModelState() => Model.NamedVariables().Values;

    /// <summary>Number of training steps taken so far (restored by <see cref="Resume"/>).</summary>
    public long GlobalStep { get; private set; }

    /// <summary>Set by a callback to end <see cref="Fit"/>: set in <see cref="Callback.OnBatchEnd"/>, training stops after
    /// that batch (the epoch's end callbacks still run); set in <see cref="Callback.OnEpochEnd"/>, after that epoch.</summary>
    public bool StopTraining { get; set; }

    /// <summary>The epoch <see cref="Fit"/> is in (0-based; after <see cref="Resume"/>, the epoch to continue).</summary>
    public int CurrentEpoch { get; private set; }

    /// <summary>Batches of <see cref="CurrentEpoch"/> trained so far: the data pipeline's position, which
    /// <see cref="SaveCheckpoint(string, IReadOnlyDictionary{string, string})"/> records so a resumed run skips them.</summary>
    public long BatchInEpoch { get; private set; }

    // Set by Resume from a mid-epoch checkpoint: the next Fit starting at that epoch skips the batches already trained.
    private (int Epoch, long Batches)? _resumeSkip;

    private InvalidOperationException NotCompiled() =>
        _disposed ? new ObjectDisposedException(nameof(Trainer)) : new("Call Trainer.Compile(optimizer, loss, metrics) first.");

    /// <summary>
    /// Sets the optimizer, the loss, the metrics, optional gradient clipping and optionally the precision: a policy name
    /// (<c>float32</c>, <c>mixed_bfloat16</c>, <c>mixed_float16</c>, <c>bfloat16</c>, <c>float16</c>; docs/precision.md)
    /// that becomes the model's <see cref="Module.Policy"/>. Under <c>mixed_float16</c> the trainer scales the loss with a
    /// new <see cref="MixedPrecision.LossScaler"/> unless <paramref name="lossScaler"/> gives one (which the caller owns);
    /// pass a scaler under any other policy to scale there too.
    /// </summary>
    public void Compile(Optimizer optimizer, Loss loss, IEnumerable<Metric>? metrics = null, double? clipNorm = null,
        string? precision = null, LossScaler? lossScaler = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (precision != null) Model.Policy = DTypePolicy.Parse(precision);
        if (_ownsLossScaler) _lossScaler?.Dispose();
        _ownsLossScaler = lossScaler == null && PrecisionPolicy.NeedsLossScaling;
        _lossScaler = lossScaler ?? (_ownsLossScaler ? new LossScaler(backend: Model.Parameters().FirstOrDefault()?.Value.Backend) : null);
        if (PrecisionPolicy.IsLowPrecision) LowPrecisionSupport.WarnOnce(PrecisionPolicy.ComputeDType, Model.Parameters().FirstOrDefault()?.Value.Backend);
        _optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        _loss = loss ?? throw new ArgumentNullException(nameof(loss));
        _metrics = metrics?.ToArray() ?? [];
        if (_metrics.Select(m => m.Name).Distinct().Count() != _metrics.Length) throw new ArgumentException("Metric names must be distinct.", nameof(metrics));
        ClipNorm = clipNorm;
        DisposeSteps();
        _modules = null;
        _firstParameter = null;
    }

    private void DisposeSteps()
    {
        _trainFn?.Dispose();
        _evalFn?.Dispose();
        _gradFn?.Dispose();
        _updateFn?.Dispose();
        _trainFn = _evalFn = _gradFn = _updateFn = null;
    }

    /// <summary>Frees the compiled steps (and the backend buffers they hold). The model and the optimizer are not
    /// disposed: they belong to the caller. Using the trainer afterwards throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        DisposeSteps();
        if (_ownsLossScaler) _lossScaler?.Dispose();
        _lossScaler = null;
        _optimizer = null;
        _loss = null;
    }

    /// <summary>One optimisation step on a batch: forward, loss, backward, (clip), update. Returns the loss; updates
    /// <paramref name="metrics"/> (default: none) with the batch's predictions.</summary>
    /// <remarks>A compiled step (the graph backend) allocates no managed memory when no metrics are given.</remarks>
    public double TrainStep(Tensor x, Tensor y, IReadOnlyList<Metric>? metrics = null)
    {
        var opt = Optimizer;
        EnsureStrategySetup();
        SetTraining(true);
        if (UseCompiled() && Strategy is { WorldSize: > 1 } strategy)
        {
            using var stepScope = TensorScope.Begin();
            var (l, p) = DistributedCompiledStep(opt, strategy, x, y);
            GlobalStep++;
            if (metrics is { Count: > 0 }) UpdateMetrics(metrics, p, y);
            return l.Item();
        }
        if (UseCompiled())
        {
            // One graph: forward, loss, backward, optimizer update; parameters, buffers and optimizer state are its
            // inputs and outputs (updated in place by the function). Its results are reused by the next call.
            _trainFn ??= CompileTrainStep(opt);
            var outs = _trainFn.CallReusingResults(x, y);
            // A skipped step (non-finite scaled gradients) was masked in the graph; the host-side counters follow.
            if (_lossScaler != null && outs[2].Item() != 0) opt.RevertStepCounters();
            GlobalStep++;
            if (metrics is { Count: > 0 }) UpdateMetrics(metrics, outs[1], y);
            return outs[0].Item();
        }
        using var scope = TensorScope.Begin();
        opt.ZeroGrad();
        var prediction = Model.Call(x);
        var loss = ComputeLoss(prediction, y);
        (_lossScaler?.ScaleLoss(loss) ?? loss).Backward();
        // libtorch's backward runs no op of ours: anomaly mode checks its results, the gradients (docs/reliability.md).
        if (Diagnostics.AnomalyMode.IsEnabled && _lossScaler == null) Diagnostics.AnomalyMode.CheckGradients(Model);
        Strategy?.ReduceGradients(opt.Parameters);
        if (_lossScaler != null)
        {
            // GradScaler's order: unscale, (clip the true gradients), skip the update on non-finite ones, update the scale.
            var found = _lossScaler.Unscale(opt.Parameters);
            bool finite = found.Item() == 0;
            if (finite && ClipNorm is { } cs) GradClip.ClipByGlobalNorm(opt.Parameters, cs);
            if (finite) opt.Step();
            _lossScaler.Update(found);
        }
        else
        {
            if (ClipNorm is { } c) GradClip.ClipByGlobalNorm(opt.Parameters, c);
            opt.Step();
        }
        Strategy?.SyncBuffers(Model);
        GlobalStep++;
        if (metrics is { Count: > 0 }) UpdateMetrics(metrics, prediction, y);
        return loss.Item();
    }

    // Separate from TrainStep so that the lambda's closure is allocated once, not on every step.
    private CompiledFunction CompileTrainStep(Optimizer opt) => new(args =>
    {
        opt.ZeroGrad();
        var p = Model.Call(args[0]);
        var l = ComputeLoss(p, args[1]);
        if (_lossScaler is not { } scaler)
        {
            l.Backward();
            opt.Step();
            return [l, p.Detach()];
        }
        scaler.ScaleLoss(l).Backward();
        var found = scaler.Unscale(opt.Parameters);
        opt.StepUnless(found);
        scaler.Update(found);
        return [l, p.Detach(), found];
    }, StepState(), model: Model, name: "train_step", inputSignature: SymbolicBatch ? InputSignature.SymbolicBatch : null);

    private IEnumerable<Variable> StepState() => _lossScaler == null ? ModelState() : ModelState().Concat(_lossScaler.Variables);

    // Losses run in float32 whatever the model computed in (as Keras' losses do): a low-precision prediction is cast up.
    private Tensor ComputeLoss(Tensor prediction, Tensor target)
    {
        var p = prediction.DType is DType.BFloat16 or DType.Float16 ? Ops.Cast(prediction, DType.Float32) : prediction;
        return Loss.Compute(p, target);
    }

    // Data parallel on a compiling backend: the gradients must leave the graph to be all-reduced, so the step is two graphs,
    // forward + backward (returning the gradients) and the optimizer update (taking the averaged gradients as arguments).
    private (Tensor Loss, Tensor Prediction) DistributedCompiledStep(Optimizer opt, DistributionStrategy strategy, Tensor x, Tensor y)
    {
        var parameters = opt.Parameters;
        _gradFn ??= new CompiledFunction(args =>
        {
            opt.ZeroGrad();
            var p = Model.Call(args[0]);
            var l = ComputeLoss(p, args[1]);
            (_lossScaler?.ScaleLoss(l) ?? l).Backward();
            var outs = new Tensor[2 + parameters.Count];
            (outs[0], outs[1]) = (l, p.Detach());
            for (int i = 0; i < parameters.Count; i++) outs[2 + i] = parameters[i].Grad ?? Ops.ZerosLike(parameters[i].Value);
            return outs;
        }, ModelState(), model: Model, name: "grad_step", inputSignature: SymbolicBatch ? InputSignature.SymbolicBatch : null);
        var outs = _gradFn.Call(x, y);
        for (int i = 0; i < parameters.Count; i++) parameters[i].Value.Grad = outs[2 + i];
        strategy.ReduceGradients(parameters);
        _updateFn ??= new CompiledFunction(grads =>
        {
            for (int i = 0; i < parameters.Count; i++) parameters[i].Value.Grad = grads[i];
            if (_lossScaler is not { } scaler)
            {
                opt.Step();
                return [];
            }
            var found = scaler.Unscale(parameters);
            opt.StepUnless(found);
            scaler.Update(found);
            return [found];
        }, StepState(), name: "update_step");
        var reduced = new Tensor[parameters.Count];
        for (int i = 0; i < reduced.Length; i++) reduced[i] = parameters[i].Grad!;
        var updateOuts = _updateFn.Call(reduced);
        if (_lossScaler != null && updateOuts[0].Item() != 0) opt.RevertStepCounters();
        opt.ZeroGrad();
        strategy.SyncBuffers(Model);
        return (outs[0], outs[1]);
    }

    private static void UpdateMetrics(IReadOnlyList<Metric> metrics, Tensor prediction, Tensor y)
    {
        using var scope = TensorScope.Begin();
        using var ng = Autograd.NoGrad();
        var p = prediction.Detach();
        foreach (var m in metrics) m.Update(p, y);
    }

    /// <summary>Loss (and metric updates) on a batch in evaluation mode, without gradients.</summary>
    public double TestStep(Tensor x, Tensor y, IReadOnlyList<Metric>? metrics = null)
    {
        SetTraining(false);
        if (UseCompiled())
        {
            _evalFn ??= new CompiledFunction(args =>
            {
                var p = Model.Call(args[0]);
                return [ComputeLoss(p, args[1]), p];
            }, ModelState(), model: Model, name: "eval_step", inputSignature: SymbolicBatch ? InputSignature.SymbolicBatch : null);
            ReadOnlySpan<Tensor> outs;
            using (Autograd.NoGrad()) outs = _evalFn.CallReusingResults(x, y);
            if (metrics is { Count: > 0 }) UpdateMetrics(metrics, outs[1], y);
            return outs[0].Item();
        }
        using var scope = TensorScope.Begin();
        using var ng = Autograd.NoGrad();
        var prediction = Model.Call(x);
        var loss = ComputeLoss(prediction, y);
        if (metrics is { Count: > 0 }) foreach (var m in metrics) m.Update(prediction, y);
        return loss.Item();
    }

    // Module.Train(bool) walks the module tree with iterators; in steady state every module is already in the wanted mode,
    // which a cached list checks without allocating (the walk still runs whenever a module is in the other mode).
    private void SetTraining(bool training)
    {
        _modules ??= Model.NamedModules().Select(m => m.Module).ToArray();
        foreach (var m in _modules)
            if (m.Training != training)
            {
                Model.Train(training);
                _modules = Model.NamedModules().Select(m => m.Module).ToArray();
                return;
            }
    }

    /// <summary>
    /// Trains for epochs <paramref name="initialEpoch"/> … <paramref name="epochs"/> − 1 (so a resumed run passes the epoch
    /// it stopped at). The dataset is enumerated with the epoch index, so a deterministic pipeline yields the same batches
    /// as an uninterrupted run. Validation metrics are prefixed with <c>val_</c>.
    /// </summary>
    public History Fit(Dataset<Batch> train, int epochs, Dataset<Batch>? validation = null, IEnumerable<Callback>? callbacks = null, int initialEpoch = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(initialEpoch);
        var cbs = callbacks?.ToArray() ?? [];
        var history = new History();
        var lossMean = new MeanValue("loss");
        if (Strategy != null) train = Strategy.ShardTraining(train);
        StopTraining = false;
        foreach (var cb in cbs) cb.OnTrainBegin(this);
        var skip = _resumeSkip;
        _resumeSkip = null;
        for (int epoch = initialEpoch; epoch < epochs && !StopTraining; epoch++)
        {
            CurrentEpoch = epoch;
            BatchInEpoch = 0;
            foreach (var cb in cbs) cb.OnEpochBegin(this, epoch);
            lossMean.Reset();
            foreach (var m in _metrics) m.Reset();
            var sw = Stopwatch.StartNew();
            long samples = 0;
            var batchLogs = new Dictionary<string, double>();
            // A run resumed mid-epoch continues with the batches an uninterrupted run would see next (the pipeline is a
            // pure function of its seeds and the epoch index, docs/data.md); its epoch metrics cover only those batches.
            var epochData = train;
            if (skip is { } sk && sk.Epoch == epoch && sk.Batches > 0)
            {
                epochData = train.Skip(sk.Batches);
                BatchInEpoch = sk.Batches;
            }
            foreach (var batch in epochData.WithEpoch(epoch))
            {
                double loss;
                using (var s = TensorScope.Begin())
                {
                    var (x, y) = batch.ToTensors(Model.Parameters().FirstOrDefault()?.Value.Backend);
                    loss = TrainStep(x, y, _metrics);
                }
                BatchInEpoch++;
                lossMean.Add(loss, batch.Size);
                samples += batch.Size;
                batchLogs["loss"] = lossMean.Result;
                foreach (var m in _metrics) batchLogs[m.Name] = m.Result;
                batchLogs["samples"] = samples;
                batchLogs["samples_per_second"] = samples / Math.Max(sw.Elapsed.TotalSeconds, 1e-9);
                foreach (var cb in cbs) cb.OnBatchEnd(this, GlobalStep, batchLogs);
                if (StopTraining) break;
            }
            Strategy?.ReduceMetrics([lossMean, .. _metrics]);
            var logs = new Dictionary<string, double> { ["loss"] = lossMean.Result };
            foreach (var m in _metrics) logs[m.Name] = m.Result;
            logs["epoch_seconds"] = sw.Elapsed.TotalSeconds;
            if (validation != null)
                foreach (var (k, v) in Evaluate(validation)) logs["val_" + k] = v;
            history.Add(epoch, logs);
            foreach (var cb in cbs) cb.OnEpochEnd(this, epoch, logs);
        }
        foreach (var cb in cbs) cb.OnTrainEnd(this);
        return history;
    }

    /// <summary>Loss and metrics over a dataset in evaluation mode (with a strategy: each rank evaluates its shard and
    /// the results are combined, so every rank returns the figures of the whole dataset).</summary>
    public IReadOnlyDictionary<string, double> Evaluate(Dataset<Batch> data)
    {
        var lossMean = new MeanValue("loss");
        foreach (var m in _metrics) m.Reset();
        EnsureStrategySetup();
        if (Strategy != null) data = Strategy.ShardEvaluation(data);
        foreach (var batch in data.WithEpoch(0))
        {
            using var s = TensorScope.Begin();
            var (x, y) = batch.ToTensors(Model.Parameters().FirstOrDefault()?.Value.Backend);
            lossMean.Add(TestStep(x, y, _metrics), batch.Size);
        }
        Strategy?.ReduceMetrics([lossMean, .. _metrics]);
        var result = new Dictionary<string, double> { ["loss"] = lossMean.Result };
        foreach (var m in _metrics) result[m.Name] = m.Result;
        return result;
    }

    /// <summary>Model outputs for every example of <paramref name="data"/>, concatenated along the first axis
    /// (the caller owns the result).</summary>
    public Tensor Predict(Dataset<Batch> data)
    {
        var parts = new List<Tensor>();
        using var scope = TensorScope.Begin();
        using var ng = Autograd.NoGrad();
        Model.Eval();
        foreach (var batch in data.WithEpoch(0))
        {
            var (x, _) = batch.ToTensors(Model.Parameters().FirstOrDefault()?.Value.Backend);
            parts.Add(Model.Call(x));
        }
        if (parts.Count == 0) throw new ArgumentException("Predict got an empty dataset.", nameof(data));
        return Ops.Concat(parts, 0).DetachFromScope();
    }

    private const string LossScalerPrefix = "loss_scaler.";

    /// <summary>Writes model, optimizer state, the loss scaler's state, step counters and layer random-generator states (seed and
    /// draws) to one file (atomically).
    /// On a non-root replica of a distributed run this does nothing: replicas hold identical state and rank 0 writes it.</summary>
    /// <param name="path">Target file.</param>
    /// <param name="epochsCompleted">Epochs done (what <see cref="Resume"/> returns).</param>
    /// <param name="userMetadata">Extra strings stored with the progress (e.g. the model's name), read back as
    /// <see cref="TrainingProgress.Metadata"/>; null: none.</param>
    public void SaveCheckpoint(string path, int epochsCompleted, IReadOnlyDictionary<string, string>? userMetadata = null) =>
        Save(path, epochsCompleted, null, userMetadata);

    /// <summary>Writes a checkpoint of the current step, mid-epoch (as <see cref="ModelCheckpoint"/> with
    /// <see cref="ModelCheckpoint.EverySteps"/> does): like <see cref="SaveCheckpoint(string, int, IReadOnlyDictionary{string, string})"/>,
    /// plus the data pipeline's position (<see cref="CurrentEpoch"/>, <see cref="BatchInEpoch"/>), so that
    /// <see cref="Resume"/> followed by <see cref="Fit"/> continues with exactly the batches an uninterrupted run trains
    /// next. Does nothing on a non-root replica.</summary>
    public void SaveCheckpoint(string path, IReadOnlyDictionary<string, string>? userMetadata = null) =>
        Save(path, CurrentEpoch, DataPosition.Format(CurrentEpoch, BatchInEpoch), userMetadata);

    private void Save(string path, int epoch, string? dataPosition, IReadOnlyDictionary<string, string>? userMetadata)
    {
        if (!IsRoot) return;
        var metadata = userMetadata?.ToDictionary() ?? new Dictionary<string, string>();
        foreach (var (name, m) in Model.NamedModules())
            if (m is IHasGenerator g)
            {
                string key = name.Length == 0 ? "<root>" : name;
                metadata["generator." + key] = g.Generator.Draws.ToString(CultureInfo.InvariantCulture);
                metadata["generator_seed." + key] = g.Generator.Seed.ToString(CultureInfo.InvariantCulture);
            }
        using var state = _optimizer?.StateDict();
        IReadOnlyDictionary<string, Tensor>? saved = state;
        if (_lossScaler != null)
        {
            var merged = new Dictionary<string, Tensor>();
            if (state != null) foreach (var (k, v) in state) merged[k] = v;
            foreach (var (k, v) in _lossScaler.StateDict()) merged[k] = v;
            saved = merged;
        }
        Checkpoint.Save(path, Model, saved, new TrainingProgress { Epoch = epoch, Step = GlobalStep, DataPosition = dataPosition, Metadata = metadata });
    }

    /// <summary>Restores a checkpoint written by <see cref="SaveCheckpoint(string, int, IReadOnlyDictionary{string, string})"/>
    /// into the model and the compiled optimizer; returns the number of completed epochs (pass it to <see cref="Fit"/> as
    /// <c>initialEpoch</c>). A mid-epoch checkpoint (<see cref="SaveCheckpoint(string, IReadOnlyDictionary{string, string})"/>)
    /// returns the epoch it was written in, and the next <see cref="Fit"/> from that epoch skips the batches already trained.</summary>
    public int Resume(string path)
    {
        using var state = Checkpoint.LoadInto(path, Model);
        // The loss scaler's entries ride along with the optimizer's (prefix loss_scaler.); a checkpoint written under another
        // policy may lack them (the scaler then starts fresh) or carry them when this trainer has none (ignored).
        var optimizerState = state.Optimizer.Where(kv => !kv.Key.StartsWith(LossScalerPrefix, StringComparison.Ordinal)).ToDictionary();
        if (_optimizer != null && optimizerState.Count > 0) _optimizer.LoadStateDict(optimizerState);
        if (_lossScaler != null && state.Optimizer.Keys.Any(k => k.StartsWith(LossScalerPrefix, StringComparison.Ordinal)))
            _lossScaler.LoadStateDict(state.Optimizer);
        GlobalStep = state.Progress.Step;
        foreach (var (name, m) in Model.NamedModules())
        {
            string key = name.Length == 0 ? "<root>" : name;
            if (m is not IHasGenerator g || !state.Progress.Metadata.TryGetValue("generator." + key, out var draws)) continue;
            long n = long.Parse(draws, CultureInfo.InvariantCulture);
            // Checkpoints from before the seed was saved hold the draw count only (the model's own seed then stands).
            if (state.Progress.Metadata.TryGetValue("generator_seed." + key, out var seed)) g.Generator.Restore(ulong.Parse(seed, CultureInfo.InvariantCulture), n);
            else g.Generator.Restore(n);
        }
        int epoch = checked((int)state.Progress.Epoch);
        _resumeSkip = DataPosition.TryParse(state.Progress.DataPosition, out var e, out var b) && e == epoch ? (e, b) : null;
        CurrentEpoch = epoch;
        BatchInEpoch = _resumeSkip?.Batches ?? 0;
        return epoch;
    }
}
