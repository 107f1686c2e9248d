using DualFramework.Tools.Dualfx;

namespace DualFramework.Tests.Cli;

/// <summary>Runs dualfx in-process with its output captured, as when redirected to a file.</summary>
internal static class DualfxRunner
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public string All => Output + Error;
    }

    public static Result Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = DualfxApp.Run(args, output, error);
        return new Result(code, output.ToString(), error.ToString());
    }

    public static string TempDir(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"dualfx-{name}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}
