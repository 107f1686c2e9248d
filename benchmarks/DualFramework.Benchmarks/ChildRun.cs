using System.Diagnostics;

namespace DualFramework.Benchmarks;

/// <summary>Runs this benchmark program again in a child process (a fresh heap and RSS per measured loop).</summary>
internal static class ChildRun
{
    /// <summary>Runs <c>dotnet &lt;this assembly&gt; <paramref name="arguments"/></c> and returns its exit code and the last
    /// non-empty line it printed.</summary>
    public static (int ExitCode, string LastLine) Run(string arguments)
    {
        var psi = new ProcessStartInfo("dotnet", $"\"{typeof(ChildRun).Assembly.Location}\" {arguments}")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var p = Process.Start(psi)!;
        var last = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
        p.WaitForExit();
        return (p.ExitCode, last);
    }
}
