using Microsoft.Extensions.Logging;

namespace DualFramework.Tools.Dualfx.Output;

/// <summary>Log lines of a long-running command (<c>dualfx serve</c>) written through the reporter: one timestamped line each.</summary>
internal sealed class ReporterLoggerProvider(Reporter reporter) : ILoggerProvider
{
    private readonly Lock _gate = new();

    public ILogger CreateLogger(string categoryName) => new LineLogger(this);

    public void Dispose() { }

    private void Write(LogLevel level, string message, Exception? e)
    {
        var line = $"{DateTime.Now:HH:mm:ss} {Level(level)}: {message}" + (e is null ? "" : $" ({e.GetType().Name}: {e.Message})");
        lock (_gate)
        {
            if (level >= LogLevel.Warning) reporter.Error.WriteLine(line);
            else reporter.Line(line);
        }
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Critical or LogLevel.Error => "error",
        LogLevel.Warning => "warning",
        _ => "info",
    };

    private sealed class LineLogger(ReporterLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) owner.Write(logLevel, formatter(state, exception), exception);
        }
    }
}
