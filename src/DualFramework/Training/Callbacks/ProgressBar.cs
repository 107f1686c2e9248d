using System.Globalization;
using System.Text;

namespace DualFramework.Training;

/// <summary>
/// A one-line progress bar per epoch (bar, samples seen, loss, metrics, samples/s) redrawn on <see cref="Output"/>
/// (standard error by default, so standard output stays machine-readable), and one summary line per epoch on
/// <see cref="EpochOutput"/> (standard output by default).
/// </summary>
public sealed class ProgressBar(long samplesPerEpoch, int epochs) : Callback
{
    private const int Width = 28;
    private DateTime _lastDraw;
    private int _epoch;

    /// <summary>Where the bar is drawn.</summary>
    public TextWriter Output { get; init; } = Console.Error;

    /// <summary>Where epoch summaries go.</summary>
    public TextWriter EpochOutput { get; init; } = Console.Out;

    /// <summary>Minimum time between redraws.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <inheritdoc />
    public override void OnEpochBegin(Trainer trainer, int epoch)
    {
        _epoch = epoch;
        _lastDraw = DateTime.MinValue;
    }

    /// <inheritdoc />
    public override void OnBatchEnd(Trainer trainer, long step, IReadOnlyDictionary<string, double> logs)
    {
        if (!trainer.IsRoot) return; // replicas hold the same state; only rank 0 writes
        var now = DateTime.UtcNow;
        long seen = (long)logs["samples"];
        if (now - _lastDraw < Interval && seen < samplesPerEpoch) return;
        _lastDraw = now;
        double frac = samplesPerEpoch > 0 ? Math.Min(1.0, (double)seen / samplesPerEpoch) : 0;
        int filled = (int)(frac * Width);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"\repoch {_epoch + 1}/{epochs} [");
        sb.Append('=', filled).Append(filled < Width ? ">" : "").Append(' ', Math.Max(0, Width - filled - 1)).Append("] ");
        sb.Append(CultureInfo.InvariantCulture, $"{seen}/{samplesPerEpoch} ");
        sb.Append(Format(logs, "samples", "samples_per_second"));
        sb.Append(CultureInfo.InvariantCulture, $" {logs["samples_per_second"]:F0} samples/s");
        Output.Write(sb.ToString());
        Output.Flush();
    }

    /// <inheritdoc />
    public override void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (!trainer.IsRoot) return; // replicas hold the same state; only rank 0 writes
        Output.WriteLine();
        EpochOutput.WriteLine($"epoch {epoch + 1}/{epochs}: {Format(logs)}");
    }

    private static string Format(IReadOnlyDictionary<string, double> logs, params string[] skip) =>
        string.Join(" ", logs.Where(kv => !skip.Contains(kv.Key)).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:F4}")));
}
