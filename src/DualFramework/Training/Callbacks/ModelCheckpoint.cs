using System.Globalization;
using System.Text.RegularExpressions;
using DualFramework.Checkpoints;

namespace DualFramework.Training;

/// <summary>
/// Writes a training checkpoint (model, optimizer, progress) after each epoch, only when a monitored metric improves, or
/// every <see cref="EverySteps"/> steps (mid-epoch checkpoints that record the data pipeline's position). The path may
/// contain <c>{epoch}</c> (1-based) and <c>{step}</c> (the global step). Writes are atomic: a process killed while writing
/// leaves the previous file intact (docs/reliability.md).
/// </summary>
public sealed class ModelCheckpoint(string path, string? monitor = null, bool saveBestOnly = false, bool maximize = false) : Callback
{
    private double _best = maximize ? double.NegativeInfinity : double.PositiveInfinity;

    /// <summary>Extra strings saved in every checkpoint (see <see cref="Trainer.SaveCheckpoint(string, int, IReadOnlyDictionary{string, string})"/>); null: none.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>When set, a checkpoint is written after every this many global steps (and none at epoch ends); each
    /// records the epoch and the batches of it already trained, so <see cref="Trainer.Resume"/> continues mid-epoch.</summary>
    public long? EverySteps { get; init; }

    /// <summary>When set, only the newest this many files written by this callback are kept (older ones are deleted after
    /// each write); null keeps all. Use a path with <c>{step}</c> or <c>{epoch}</c>, so files differ.</summary>
    public int? KeepLast { get; init; }

    /// <summary>Paths written so far.</summary>
    public List<string> Written { get; } = [];

    // The files KeepLast counts, oldest first: those of an earlier (killed) run found at the start, then this run's.
    private readonly List<string> _kept = [];

    /// <inheritdoc />
    public override void OnTrainBegin(Trainer trainer)
    {
        if (EverySteps is <= 0) throw new InvalidOperationException($"ModelCheckpoint.EverySteps must be positive, got {EverySteps}.");
        if (KeepLast is <= 0) throw new InvalidOperationException($"ModelCheckpoint.KeepLast must be positive, got {KeepLast}.");
        if (!trainer.IsRoot) return;
        DeleteStaleTemporaries(path);
        _kept.Clear();
        if (KeepLast != null) _kept.AddRange(Matching(path).Reverse().Select(c => c.File));
    }

    /// <inheritdoc />
    public override void OnBatchEnd(Trainer trainer, long step, IReadOnlyDictionary<string, double> logs)
    {
        if (EverySteps is not { } n || step % n != 0 || !trainer.IsRoot) return;
        var p = Resolve(path, trainer.CurrentEpoch + 1, step);
        trainer.SaveCheckpoint(p, Metadata);
        Wrote(p);
    }

    /// <inheritdoc />
    public override void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (EverySteps != null || !trainer.IsRoot) return; // replicas hold the same state; only rank 0 writes
        if (saveBestOnly)
        {
            var key = monitor ?? "val_loss";
            if (!logs.TryGetValue(key, out var v))
                throw new InvalidOperationException($"ModelCheckpoint monitors '{key}', which is not among the logged metrics.");
            if (maximize ? v <= _best : v >= _best) return;
            _best = v;
        }
        var p = Resolve(path, epoch + 1, trainer.GlobalStep);
        trainer.SaveCheckpoint(p, epoch + 1, Metadata);
        Wrote(p);
    }

    private void Wrote(string p)
    {
        Written.Remove(p);
        Written.Add(p);
        if (KeepLast is not { } keep) return;
        _kept.RemoveAll(k => Path.GetFullPath(k) == Path.GetFullPath(p));
        _kept.Add(p);
        while (_kept.Count > keep)
        {
            File.Delete(_kept[0]);
            _kept.RemoveAt(0);
        }
    }

    private static string Resolve(string pattern, int epoch, long step)
    {
        var p = pattern.Replace("{epoch}", epoch.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{step}", step.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var dir = Path.GetDirectoryName(Path.GetFullPath(p));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        return p;
    }

    /// <summary>
    /// The newest checkpoint matching <paramref name="pattern"/> (a path with <c>{step}</c> or <c>{epoch}</c>, as given to
    /// the constructor; the largest number wins) that reads back completely with a valid checksum; a damaged file is skipped
    /// for the one before it. Null when none is usable.
    /// </summary>
    public static string? Latest(string pattern)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        foreach (var (file, _) in Matching(pattern))
        {
            try
            {
                using var contents = Checkpoint.Load(file); // reads everything and verifies the checksum
                return file;
            }
            catch (CheckpointException)
            {
                // damaged (e.g. by a disk fault): fall back to the previous one
            }
        }
        return null;
    }

    // Existing files matching the pattern, newest (largest numbers) first.
    private static IEnumerable<(string File, Match Match)> Matching(string pattern)
    {
        var full = Path.GetFullPath(pattern);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) return [];
        var name = Regex.Escape(Path.GetFileName(full)).Replace(@"\{step}", @"(\d+)", StringComparison.Ordinal).Replace(@"\{epoch}", @"(\d+)", StringComparison.Ordinal);
        var regex = new Regex("^" + name + "$", RegexOptions.CultureInvariant);
        return Directory.EnumerateFiles(dir)
            .Select(f => (File: f, Match: regex.Match(Path.GetFileName(f))))
            .Where(c => c.Match.Success)
            .OrderByDescending(c => Key(c.Match), Comparer<decimal[]>.Create(CompareKeys))
            .ToArray();
    }

    private static decimal[] Key(Match m) => m.Groups.Values.Skip(1).Select(g => decimal.Parse(g.Value, CultureInfo.InvariantCulture)).ToArray();

    private static int CompareKeys(decimal[]? a, decimal[]? b)
    {
        for (int i = 0; i < Math.Min(a!.Length, b!.Length); i++)
            if (a[i] != b[i]) return a[i].CompareTo(b[i]);
        return a.Length.CompareTo(b.Length);
    }

    // A process killed mid-write leaves its hidden temporary file (.NAME.GUID.tmp, see SafeTensors.Save): remove those of
    // this callback's files. The checkpoints themselves are never partial.
    private static void DeleteStaleTemporaries(string pattern)
    {
        var full = Path.GetFullPath(pattern);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) return;
        var file = Path.GetFileName(full);
        int brace = file.IndexOf('{', StringComparison.Ordinal);
        var prefix = "." + (brace >= 0 ? file[..brace] : file);
        foreach (var f in Directory.EnumerateFiles(dir, ".*.tmp"))
            if (Path.GetFileName(f).StartsWith(prefix, StringComparison.Ordinal)) File.Delete(f);
    }
}
