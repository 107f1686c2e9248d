namespace DualFramework.Training;

/// <summary>Hooks into <see cref="Trainer.Fit"/>. Logs map metric names ("loss", "accuracy", "val_loss", …) to values.</summary>
public abstract class Callback
{
    /// <summary>Before the first epoch.</summary>
    public virtual void OnTrainBegin(Trainer trainer) { }

    /// <summary>Before each epoch (0-based).</summary>
    public virtual void OnEpochBegin(Trainer trainer, int epoch) { }

    /// <summary>After each training batch; <paramref name="step"/> counts batches since the start of training.</summary>
    public virtual void OnBatchEnd(Trainer trainer, long step, IReadOnlyDictionary<string, double> logs) { }

    /// <summary>After each epoch, with training and validation metrics.</summary>
    public virtual void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs) { }

    /// <summary>After the last epoch (also after early stopping).</summary>
    public virtual void OnTrainEnd(Trainer trainer) { }
}

/// <summary>Per-epoch metrics of a <see cref="Trainer.Fit"/> run.</summary>
public sealed class History
{
    private readonly List<(int Epoch, IReadOnlyDictionary<string, double> Logs)> _epochs = [];

    /// <summary>Epoch index and logs, in order.</summary>
    public IReadOnlyList<(int Epoch, IReadOnlyDictionary<string, double> Logs)> Epochs => _epochs;

    /// <summary>The values of one metric over epochs.</summary>
    public IReadOnlyList<double> this[string metric] => _epochs.Select(e => e.Logs.TryGetValue(metric, out var v) ? v : double.NaN).ToArray();

    internal void Add(int epoch, IReadOnlyDictionary<string, double> logs) => _epochs.Add((epoch, logs));
}
