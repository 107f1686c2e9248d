using System.Diagnostics;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

/// <summary>Runs ONNX's own <c>onnx.checker.check_model(full_check=True)</c> (Debian's python3-onnx) over exported files.</summary>
internal static class OnnxChecker
{
    private const string Python = "/usr/bin/python3";

    private const string Script = """
        import glob, os, sys
        import onnx
        bad = []
        files = sorted(glob.glob(os.path.join(sys.argv[1], "*.onnx")))
        for f in files:
            try:
                onnx.checker.check_model(onnx.load(f), full_check=True)
            except Exception as e:
                bad.append(os.path.basename(f) + ": " + str(e).splitlines()[0])
        print("checked", len(files))
        for b in bad: print("FAIL", b)
        sys.exit(1 if bad else 0)
        """;

    /// <summary>Ignores the calling test when python3-onnx is missing (CI installs it).</summary>
    public static void SkipWhenUnavailable()
    {
        if (!File.Exists(Python) || !Run(Python, "-c \"import onnx\"", out _))
            Assert.Ignore("python3-onnx is not installed (apt-get install python3-onnx).");
    }

    /// <summary>Checks every <c>*.onnx</c> in <paramref name="dir"/> (with its external data) and asserts all pass.</summary>
    public static void CheckDirectory(string dir)
    {
        SkipWhenUnavailable();
        var script = Path.Combine(dir, "check.py");
        File.WriteAllText(script, Script);
        int count = Directory.GetFiles(dir, "*.onnx").Length;
        Run(Python, $"\"{script}\" \"{dir}\"", out var output).Should().BeTrue(output);
        output.Should().Contain($"checked {count}");
    }

    private static bool Run(string file, string args, out string output)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        output = stdout.Result + stderr.Result;
        return p.ExitCode == 0;
    }
}
