using System.Globalization;
using DualFramework.Backends;
using DualFramework.NN;

namespace DualFramework.Checkpoints;

/// <summary>Scalar training progress stored with a <see cref="Checkpoint"/>.</summary>
public sealed record TrainingProgress
{
    /// <summary>Completed epochs (or the epoch to resume in; the meaning is the caller's).</summary>
    public long Epoch { get; init; }

    /// <summary>Global optimisation step.</summary>
    public long Step { get; init; }

    /// <summary>Opaque state of the random-number generator(s), e.g. a seed and a draw count; null when not recorded.</summary>
    public string? RngState { get; init; }

    /// <summary>Opaque position of the data pipeline (shard, sample index…); null when not recorded.</summary>
    public string? DataPosition { get; init; }

    /// <summary>Arbitrary string metadata (learning-rate schedule, git revision, notes…).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}

/// <summary>Everything read from a training checkpoint by <see cref="Checkpoint.Load"/>. Owns its tensors.</summary>
public sealed class CheckpointContents : IDisposable
{
    internal CheckpointContents(Dictionary<string, Tensor> model, Dictionary<string, Tensor> optimizer, TrainingProgress progress, IReadOnlyDictionary<string, string> rawMetadata)
    {
        Model = model;
        Optimizer = optimizer;
        Progress = progress;
        RawMetadata = rawMetadata;
    }

    /// <summary>The model state dict (parameter and buffer names as in <see cref="Module.StateDict"/>).</summary>
    public IReadOnlyDictionary<string, Tensor> Model { get; }

    /// <summary>The optimizer state, with the <see cref="Checkpoint.OptimizerPrefix"/> removed (empty when none was saved).</summary>
    public IReadOnlyDictionary<string, Tensor> Optimizer { get; }

    /// <summary>Epoch, step, RNG and pipeline positions and user metadata.</summary>
    public TrainingProgress Progress { get; }

    /// <summary>The file's complete <c>__metadata__</c>.</summary>
    public IReadOnlyDictionary<string, string> RawMetadata { get; }

    /// <summary>Disposes every tensor.</summary>
    public void Dispose()
    {
        foreach (var t in Model.Values) t.Dispose();
        foreach (var t in Optimizer.Values) t.Dispose();
    }
}

/// <summary>What <see cref="Checkpoint.LoadInto"/> returns besides filling the model. Owns the optimizer tensors.</summary>
public sealed class ResumeState : IDisposable
{
    internal ResumeState(Dictionary<string, Tensor> optimizer, TrainingProgress progress)
    {
        Optimizer = optimizer;
        Progress = progress;
    }

    /// <summary>The optimizer state (prefix removed), to hand to the optimizer; empty when none was saved.</summary>
    public IReadOnlyDictionary<string, Tensor> Optimizer { get; }

    /// <summary>Epoch, step, RNG and pipeline positions and user metadata.</summary>
    public TrainingProgress Progress { get; }

    /// <summary>Disposes the optimizer tensors.</summary>
    public void Dispose()
    {
        foreach (var t in Optimizer.Values) t.Dispose();
    }
}

/// <summary>
/// Saves and restores a whole training state — model parameters and buffers, optimizer state and scalar progress — in
/// ONE safetensors file (written atomically by <see cref="SafeTensors.Save"/>, with a checksum).
/// </summary>
/// <remarks>
/// Layout: model tensors are stored as <c>model.&lt;name&gt;</c>, optimizer tensors as <c>optimizer.&lt;name&gt;</c>; progress
/// lives in the metadata (<c>training.epoch</c>, <c>training.step</c>, <c>training.rng</c>, <c>training.data_position</c>,
/// <c>user.&lt;key&gt;</c>) next to <c>dualframework.kind = training_checkpoint</c>. A safetensors file WITHOUT that kind
/// (e.g. weights exported by PyTorch) is read as a bare model state dict with unprefixed names.
/// </remarks>
public static class Checkpoint
{
    /// <summary>Name prefix of model tensors.</summary>
    public const string ModelPrefix = "model.";

    /// <summary>Name prefix of optimizer tensors.</summary>
    public const string OptimizerPrefix = "optimizer.";

    /// <summary>Metadata key marking a training checkpoint.</summary>
    public const string KindKey = "dualframework.kind";

    /// <summary>Value of <see cref="KindKey"/> for training checkpoints.</summary>
    public const string KindValue = "training_checkpoint";

    private const string EpochKey = "training.epoch";
    private const string StepKey = "training.step";
    private const string RngKey = "training.rng";
    private const string DataKey = "training.data_position";
    private const string UserPrefix = "user.";

    /// <summary>Writes the model's state dict, the optimizer state and the progress to <paramref name="path"/> atomically.</summary>
    /// <param name="path">Target file (replaced atomically if it exists).</param>
    /// <param name="model">The model; its parameters and buffers are saved.</param>
    /// <param name="optimizerState">Optimizer tensors by name (stored under <see cref="OptimizerPrefix"/>), or null.</param>
    /// <param name="progress">Epoch, step and other scalars, or null for zeros.</param>
    /// <exception cref="CheckpointException">Writing failed; an existing file at <paramref name="path"/> is unchanged.</exception>
    public static void Save(string path, Module model, IReadOnlyDictionary<string, Tensor>? optimizerState = null, TrainingProgress? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (n, t) in model.StateDict()) tensors[ModelPrefix + n] = t;
        if (optimizerState != null)
            foreach (var (n, t) in optimizerState) tensors[OptimizerPrefix + n] = t;

        progress ??= new TrainingProgress();
        var md = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [KindKey] = KindValue,
            [EpochKey] = progress.Epoch.ToString(CultureInfo.InvariantCulture),
            [StepKey] = progress.Step.ToString(CultureInfo.InvariantCulture),
        };
        if (progress.RngState != null) md[RngKey] = progress.RngState;
        if (progress.DataPosition != null) md[DataKey] = progress.DataPosition;
        foreach (var (k, v) in progress.Metadata) md[UserPrefix + k] = v;
        SafeTensors.Save(path, tensors, md);
    }

    /// <summary>Reads a checkpoint (or a plain safetensors weight file) without applying it to a model.</summary>
    /// <param name="path">The file.</param>
    /// <param name="backend">Backend for the tensors (default: <see cref="BackendRegistry.Default"/>).</param>
    /// <returns>The contents; they own their tensors (outside every <see cref="TensorScope"/>): dispose them.</returns>
    /// <exception cref="CheckpointException">The file is missing, malformed or corrupted.</exception>
    public static CheckpointContents Load(string path, IComputeBackend? backend = null)
    {
        Dictionary<string, Tensor> all;
        Dictionary<string, string> md;
        using (var scope = TensorScope.Begin())
        {
            (all, md) = SafeTensors.Load(path, backend);
            foreach (var t in all.Values) t.DetachFromScope();
        }
        try
        {
            var (model, optimizer) = Split(path, all, md);
            return new CheckpointContents(model, optimizer, ParseProgress(path, md), md);
        }
        catch
        {
            foreach (var t in all.Values) t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads the checkpoint at <paramref name="path"/> into <paramref name="model"/> (via <see cref="Module.LoadStateDict"/>)
    /// and returns the optimizer state and progress. Names, shapes and dtypes are all checked first and every mismatch is
    /// reported in one <see cref="StateDictException"/> whose message names the file; the model is unchanged then.
    /// </summary>
    /// <param name="path">The file (a training checkpoint, or a plain safetensors state dict).</param>
    /// <param name="model">The model to fill.</param>
    /// <param name="strict">When false, missing and unexpected model tensors are allowed.</param>
    /// <param name="backend">Backend for the optimizer tensors (default: the backend of the model's variables).</param>
    /// <returns>Optimizer state (owned by the result: dispose it) and progress.</returns>
    /// <exception cref="CheckpointException">The file is missing, malformed or corrupted.</exception>
    /// <exception cref="StateDictException">The model state does not fit <paramref name="model"/>.</exception>
    public static ResumeState LoadInto(string path, Module model, bool strict = true, IComputeBackend? backend = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        backend ??= model.NamedVariables().Values.FirstOrDefault()?.Value.Backend;
        using var scope = TensorScope.Begin();
        var (all, md) = SafeTensors.Load(path, backend);
        var (state, optimizer) = Split(path, all, md);
        var progress = ParseProgress(path, md);
        try
        {
            model.LoadStateDict(state, strict);
        }
        catch (StateDictException e)
        {
            throw new StateDictException($"Checkpoint '{path}': {e.Message}", e.Problems);
        }
        foreach (var t in optimizer.Values) t.DetachFromScope();
        return new ResumeState(optimizer, progress);
    }

    private static (Dictionary<string, Tensor> Model, Dictionary<string, Tensor> Optimizer) Split(string path, Dictionary<string, Tensor> all, IReadOnlyDictionary<string, string> md)
    {
        var model = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var optimizer = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        if (md.GetValueOrDefault(KindKey) != KindValue)
        {
            // A plain weight file (e.g. from PyTorch): every tensor is model state.
            foreach (var (n, t) in all) model[n] = t;
            return (model, optimizer);
        }
        foreach (var (n, t) in all)
        {
            if (n.StartsWith(ModelPrefix, StringComparison.Ordinal)) model[n[ModelPrefix.Length..]] = t;
            else if (n.StartsWith(OptimizerPrefix, StringComparison.Ordinal)) optimizer[n[OptimizerPrefix.Length..]] = t;
            else throw new CheckpointException(path, $"Invalid checkpoint '{path}': tensor '{n}' is neither '{ModelPrefix}*' nor '{OptimizerPrefix}*'.");
        }
        return (model, optimizer);
    }

    private static TrainingProgress ParseProgress(string path, IReadOnlyDictionary<string, string> md)
    {
        long Number(string key)
        {
            if (!md.TryGetValue(key, out var s)) return 0;
            if (!long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
                throw new CheckpointException(path, $"Invalid checkpoint '{path}': metadata '{key}' is '{s}', not an integer.");
            return v;
        }
        var user = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in md)
            if (k.StartsWith(UserPrefix, StringComparison.Ordinal)) user[k[UserPrefix.Length..]] = v;
        return new TrainingProgress
        {
            Epoch = Number(EpochKey),
            Step = Number(StepKey),
            RngState = md.GetValueOrDefault(RngKey),
            DataPosition = md.GetValueOrDefault(DataKey),
            Metadata = user,
        };
    }
}
