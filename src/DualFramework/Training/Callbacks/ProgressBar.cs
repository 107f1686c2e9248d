using System.Globalization;
using System.Text;

namespace DualFramework.Training;

/// <summary>
/// A one-line progress bar per epoch (bar, samples seen, loss, metrics, samples/s) redrawn on <see cref="Output"/>
/// (standard error by default, so standard output stays machine-readable), and one summary line per epoch on
/// <see cref="EpochOutput"/> (standard output by default). When <see cref="Output"/> is not an interactive terminal
/// (redirected, <c>TERM=dumb</c>, under mpirun: see <see cref="OutputStyle.IsPlain"/>) the bar becomes one plain line every
/// <see cref="PlainStepPercent"/> percent, so logs hold neither carriage returns nor escape codes.
/// </summary>
public sealed class ProgressBar(long samplesPerEpoch, int epochs) : Callback
{
    private const int Width = 28;
    private DateTime _lastDraw;
    private int _epoch;
    private int _nextPercent;
    private bool? _plain;

    /// <summary>Where the bar is drawn.</summary>
    public TextWriter Output { get; init; } = Console.Error;

    /// <summary>Where epoch summaries go.</summary>
    public TextWriter EpochOutput { get; init; } = Console.Out;

    /// <summary>Plain lines instead of a redrawn bar; null (default): decided by <see cref="OutputStyle.IsPlain"/> on <see cref="Output"/>.</summary>
    public bool? Plain { get; init; }

    /// <summary>In plain mode, a progress line is written each time this many more percent of the epoch are done.</summary>
    public int PlainStepPercent { get; init; } = 25;

    private bool IsPlain => _plain ??= Plain ?? OutputStyle.IsPlain(Output);

    /// <summary>Minimum time between redraws.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <inheritdoc />
    public override void OnEpochBegin(Trainer trainer, int epoch)
    {
        _epoch = epoch;
        _lastDraw = DateTime.MinValue;
        _nextPercent = Math.Clamp(PlainStepPercent, 1, 100);
    }

    /// <inheritdoc />
    public override void OnBatchEnd(Trainer trainer, long step, IReadOnlyDictionary<string, double> logs)
    {
        if (!trainer.IsRoot) return; // replicas hold the same state; only rank 0 writes
        var now = DateTime.UtcNow;
        long seen = (long)logs["samples"];
        if (IsPlain)
        {
            WritePlain(seen, logs);
            return;
        }
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
        if (!IsPlain) Output.WriteLine(); // ends the redrawn line
        EpochOutput.WriteLine($"epoch {epoch + 1}/{epochs}: {Format(logs)}");
    }

    // One line each time another step of the epoch is done; the last step is left to the epoch summary.
    private void WritePlain(long seen, IReadOnlyDictionary<string, double> logs)
    {
        if (samplesPerEpoch <= 0 || _nextPercent >= 100) return;
        double percent = 100.0 * seen / samplesPerEpoch;
        if (percent < _nextPercent) return;
        while (_nextPercent <= percent) _nextPercent += Math.Clamp(PlainStepPercent, 1, 100);
        Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"epoch {_epoch + 1}/{epochs} {Math.Min(100, (int)percent)}% {seen}/{samplesPerEpoch} {Format(logs, "samples", "samples_per_second")} {logs["samples_per_second"]:F0} samples/s"));
        Output.Flush();
    }

    private static string Format(IReadOnlyDictionary<string, double> logs, params string[] skip) =>
        string.Join(" ", logs.Where(kv => !skip.Contains(kv.Key)).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:F4}")));
}
