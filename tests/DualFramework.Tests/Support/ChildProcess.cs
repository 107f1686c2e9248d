using System.Collections.Concurrent;
using System.Diagnostics;

namespace DualFramework.Tests;

/// <summary>A program of the test output folder run as a real child process (<c>dotnet NAME.dll ARGS</c>), its standard
/// output and error collected line by line, so a test can wait for a line and then kill the process (SIGKILL).</summary>
internal sealed class ChildProcess : IDisposable
{
    // A guard against a hung child only; no assertion depends on timing.
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = [];
    private readonly ConcurrentQueue<string> _all = new();
    private int _open = 2;

    public ChildProcess(string dll, string arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo("dotnet", $"\"{Path.Combine(AppContext.BaseDirectory, dll)}\" {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => Receive(e.Data);
        _process.ErrorDataReceived += (_, e) => Receive(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private void Receive(string? line)
    {
        if (line == null)
        {
            if (Interlocked.Decrement(ref _open) == 0) _lines.CompleteAdding();
            return;
        }
        _all.Enqueue(line);
        _lines.Add(line);
    }

    /// <summary>Everything printed so far (both streams, in arrival order).</summary>
    public string Output => string.Join('\n', _all);

    /// <summary>Blocks until a line satisfying <paramref name="match"/> arrives; returns it, or null if the process ended
    /// first.</summary>
    public string? WaitForLine(Func<string, bool> match)
    {
        while (_lines.TryTake(out var line, Patience))
            if (match(line)) return line;
        if (!_lines.IsCompleted) throw new TimeoutException($"no expected line from the child within {Patience}; output:\n{Output}");
        return null;
    }

    /// <summary>SIGKILL (on Unix, <see cref="Process.Kill()"/> sends it), then waits for the process to be gone.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>Waits for a normal end and returns the exit code.</summary>
    public int WaitForExit()
    {
        if (!_process.WaitForExit(Patience)) throw new TimeoutException($"the child did not end within {Patience}; output:\n{Output}");
        _process.WaitForExit(); // drains the asynchronous readers
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(); // the output readers finish before the collection they write to is disposed
        }
        _process.Dispose();
        _lines.Dispose();
    }
}
