using System.Diagnostics;

namespace DualFramework.Benchmarks;

/// <summary>Runs this benchmark program again in a child process (a fresh heap and RSS per measured loop).</summary>
internal static class ChildRun
{
    /// <summary>Runs <c>dotnet &lt;this assembly&gt; <paramref name="arguments"/></c> and returns its exit code and the last
    /// non-empty line it printed. <paramref name="unconfined"/>: without an MPI launcher's variables and, through
    /// <c>taskset</c>, on every online CPU (a rank's own binding would otherwise be inherited).</summary>
    public static (int ExitCode, string LastLine) Run(string arguments, bool unconfined = false)
    {
        string dotnetArgs = $"\"{typeof(ChildRun).Assembly.Location}\" {arguments}";
        const string online = "/sys/devices/system/cpu/online";
        bool pin = unconfined && File.Exists(online) && File.Exists("/usr/bin/taskset");
        var psi = pin
            ? new ProcessStartInfo("/usr/bin/taskset", $"-c {File.ReadAllText(online).Trim()} dotnet {dotnetArgs}")
            : new ProcessStartInfo("dotnet", dotnetArgs);
        psi.RedirectStandardOutput = true;
        psi.UseShellExecute = false;
        if (unconfined)
            foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("OMPI_", StringComparison.Ordinal) || k.StartsWith("PMIX_", StringComparison.Ordinal)
                || k.StartsWith("PMI_", StringComparison.Ordinal) || k is "MPI_LOCALNRANKS").ToList())
                psi.Environment.Remove(name);
        using var p = Process.Start(psi)!;
        var last = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
        p.WaitForExit();
        return (p.ExitCode, last);
    }
}
