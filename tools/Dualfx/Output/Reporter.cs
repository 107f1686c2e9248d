using DualFramework.Training;

namespace DualFramework.Tools.Dualfx.Output;

/// <summary>Where a command's results go: lines, tables and training progress, rich on a terminal or plain in a log.</summary>
internal abstract class Reporter(TextWriter output, TextWriter error)
{
    /// <summary>Standard output (results).</summary>
    public TextWriter Out { get; } = output;

    /// <summary>Standard error (warnings and errors).</summary>
    public TextWriter Error { get; } = error;

    /// <summary>Plain output (redirected, <c>TERM=dumb</c>, mpirun) or the Spectre.Console one for a terminal.</summary>
    public static Reporter Create(TextWriter output, TextWriter error) =>
        OutputStyle.IsPlain(output) ? new PlainReporter(output, error) : new RichReporter(output, error);

    /// <summary>One line of text.</summary>
    public virtual void Line(string text) => Out.WriteLine(text);

    /// <summary>A warning on standard error.</summary>
    public void Warn(string text) => Error.WriteLine($"warning: {text}");

    /// <summary>A table with a title; every cell is literal text.</summary>
    public abstract void Table(string title, IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<string>> rows);

    /// <summary>Runs <paramref name="train"/> with a callback that shows its progress.</summary>
    public abstract T Track<T>(long samplesPerEpoch, int epochs, Func<Callback, T> train);

    /// <summary>Runs <paramref name="work"/> while showing <paramref name="status"/>.</summary>
    public abstract T Status<T>(string status, Func<T> work);
}
