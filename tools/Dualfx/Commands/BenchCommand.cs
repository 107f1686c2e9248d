using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DualFramework.Tools.Dualfx.Output;

namespace DualFramework.Tools.Dualfx.Commands;

/// <summary>
/// <c>dualfx bench SUITE</c>: runs a ratio suite of benchmarks/DualFramework.Benchmarks (<c>--ratio SUITE</c>) in a child
/// process and tabulates its closing JSON line. A child process rather than a reference: the suites print to the console
/// themselves, the memory suite starts copies of the benchmarks program, and the tool stays free of BenchmarkDotNet.
/// </summary>
internal static class BenchCommand
{
    public static readonly string[] Suites = ["ops", "overhead", "graph", "deploy", "precision", "quant", "allreduce", "memory", "serve"];
    private const string ProjectPath = "benchmarks/DualFramework.Benchmarks/DualFramework.Benchmarks.csproj";

    public static Command Create(Reporter reporter)
    {
        var suite = new Argument<string>("suite") { Description = "Ratio suite: " + string.Join(", ", Suites) };
        suite.AcceptOnlyFromAmong(Suites);
        var pairs = OptionFactory.WithDefault("--pairs", "Interleaved pairs per measurement", 21);
        var benchmarks = OptionFactory.Optional<string>("--benchmarks",
            "DualFramework.Benchmarks.dll, or its .csproj (default: found from the current folder upwards, or DUALFX_BENCHMARKS)");
        var command = new Command("bench", "Run a benchmark ratio suite (the benchmarks' --ratio mode)") { suite, pairs, benchmarks };
        command.SetAction(p => Run(p.GetValue(suite)!, OptionFactory.Positive(p.GetValue(pairs), "--pairs"), p.GetValue(benchmarks), reporter));
        return command;
    }

    public static int Run(string suite, int pairs, string? benchmarks, Reporter r)
    {
        var target = benchmarks ?? Environment.GetEnvironmentVariable("DUALFX_BENCHMARKS") ?? FindProject()
            ?? throw new UserErrorException($"cannot find {ProjectPath} from {Directory.GetCurrentDirectory()}: pass --benchmarks PATH (the .dll or .csproj)", ExitCodes.Usage);
        OptionFactory.MustExist(target);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        if (target.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)) psi.ArgumentList.Add(target);
        else foreach (var a in new[] { "run", "-c", "Release", "--project", target, "--" }) psi.ArgumentList.Add(a);
        foreach (var a in new[] { "--ratio", suite, "--pairs", pairs.ToString(CultureInfo.InvariantCulture) }) psi.ArgumentList.Add(a);
        r.Line($"running: dotnet {string.Join(' ', psi.ArgumentList)}");
        using var process = Process.Start(psi) ?? throw new UserErrorException("could not start dotnet");
        string? last = null;
        while (process.StandardOutput.ReadLine() is { } line)
        {
            r.Line(line);
            if (line.TrimStart().StartsWith('{')) last = line;
        }
        process.WaitForExit();
        if (process.ExitCode != 0) throw new UserErrorException($"the {suite} suite failed (exit code {process.ExitCode})");
        if (last != null) Tabulate(suite, last, r);
        return ExitCodes.Success;
    }

    private static void Tabulate(string suite, string json, Reporter r)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            r.Table($"{suite} suite", ["figure", "value"], doc.RootElement.EnumerateObject().Select(p => (IReadOnlyList<string>)[p.Name, p.Value.ToString()]));
        }
        catch (JsonException)
        {
            r.Warn("the suite's last line is not JSON");
        }
    }

    private static string? FindProject()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, ProjectPath);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
