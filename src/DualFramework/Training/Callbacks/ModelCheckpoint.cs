using System.Globalization;

namespace DualFramework.Training;

/// <summary>
/// Writes a training checkpoint (model, optimizer, progress) after each epoch, or only when a monitored metric improves.
/// The path may contain <c>{epoch}</c> (1-based). Writes are atomic.
/// </summary>
public sealed class ModelCheckpoint(string path, string? monitor = null, bool saveBestOnly = false, bool maximize = false) : Callback
{
    private double _best = maximize ? double.NegativeInfinity : double.PositiveInfinity;

    /// <summary>Extra strings saved in every checkpoint (see <see cref="Trainer.SaveCheckpoint"/>); null: none.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Paths written so far.</summary>
    public List<string> Written { get; } = [];

    /// <inheritdoc />
    public override void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (!trainer.IsRoot) return; // replicas hold the same state; only rank 0 writes
        if (saveBestOnly)
        {
            var key = monitor ?? "val_loss";
            if (!logs.TryGetValue(key, out var v))
                throw new InvalidOperationException($"ModelCheckpoint monitors '{key}', which is not among the logged metrics.");
            if (maximize ? v <= _best : v >= _best) return;
            _best = v;
        }
        var p = path.Replace("{epoch}", (epoch + 1).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var dir = Path.GetDirectoryName(Path.GetFullPath(p));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        trainer.SaveCheckpoint(p, epoch + 1, Metadata);
        Written.Add(p);
    }
}
