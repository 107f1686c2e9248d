using DualFramework.Training;
using Spectre.Console;

namespace DualFramework.Tools.Dualfx.Output;

/// <summary>Spectre.Console output for an interactive terminal: bordered tables, live progress bars and spinners.</summary>
internal sealed class RichReporter : Reporter
{
    private readonly IAnsiConsole _console;

    public RichReporter(TextWriter output, TextWriter error) : base(output, error) =>
        _console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });

    public override void Line(string text) => _console.WriteLine(text);

    public override void Table(string title, IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<string>> rows)
    {
        var table = new Table { Title = new TableTitle(Markup.Escape(title)), Border = TableBorder.Rounded };
        foreach (var c in columns) table.AddColumn(new TableColumn(Markup.Escape(c)));
        foreach (var r in rows) table.AddRow(r.Select(cell => (Spectre.Console.Rendering.IRenderable)new Text(cell)).ToArray());
        _console.Write(table);
    }

    public override T Track<T>(long samplesPerEpoch, int epochs, Func<Callback, T> train) =>
        _console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx => train(new SpectreProgressCallback(ctx, samplesPerEpoch, epochs)));

    public override T Status<T>(string status, Func<T> work) => _console.Status().Start(Markup.Escape(status), _ => work());
}
