using DualFramework.Training;

namespace DualFramework.Tools.Dualfx.Output;

/// <summary>Plain lines only (no carriage return, no escape code): tables as space-aligned columns.</summary>
internal sealed class PlainReporter(TextWriter output, TextWriter error) : Reporter(output, error)
{
    public override void Table(string title, IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = rows.Prepend(columns).ToList();
        var widths = columns.Select((_, c) => all.Max(r => c < r.Count ? r[c].Length : 0)).ToArray();
        Out.WriteLine(title);
        foreach (var r in all)
            Out.WriteLine("  " + string.Join("  ", r.Select((cell, c) => c == r.Count - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
    }

    public override T Track<T>(long samplesPerEpoch, int epochs, Func<Callback, T> train) =>
        train(new ProgressBar(samplesPerEpoch, epochs) { Output = Out, EpochOutput = Out, Plain = true });

    public override T Status<T>(string status, Func<T> work)
    {
        Out.WriteLine(status);
        return work();
    }
}
