using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Cli;

/// <summary>User errors give a one-line message and a non-zero exit code, never a stack trace.</summary>
[TestFixture]
public class DualfxErrorTests
{
    private static void ShouldFail(DualfxRunner.Result run, int code, string message)
    {
        run.ExitCode.Should().Be(code, run.All);
        run.Error.Should().Contain("error: ").And.Contain(message);
        run.All.Should().NotContain("   at ").And.NotContain("Exception:");
    }

    [Test]
    public void NoCommand() => ShouldFail(DualfxRunner.Run(), 2, "dualfx --help");

    [Test]
    public void UnknownCommand() => ShouldFail(DualfxRunner.Run("fly"), 2, "fly");

    [Test]
    public void UnknownModel() => ShouldFail(DualfxRunner.Run("train", "--model", "transformer"), 2, "transformer");

    [Test]
    public void NotANumber() => ShouldFail(DualfxRunner.Run("train", "--epochs", "many"), 2, "many");

    [Test]
    public void NonPositiveEpochs() => ShouldFail(DualfxRunner.Run("train", "--epochs", "0"), 2, "--epochs must be positive");

    [Test]
    public void MissingFile() => ShouldFail(DualfxRunner.Run("inspect", "/no/such/model.onnx"), 2, "does not exist");

    [Test]
    public void ExportNeedsAnOutput() => ShouldFail(DualfxRunner.Run("export", "ck"), 2, "--output");

    [Test]
    public void UnknownBenchSuite() => ShouldFail(DualfxRunner.Run("bench", "everything"), 2, "everything");

    [Test]
    public void ConvertNeedsKnownExtensions()
    {
        var file = Path.GetTempFileName();
        try
        {
            ShouldFail(DualfxRunner.Run("convert", file, file + ".txt"), 2, "cannot convert");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public void UnreadableFiles()
    {
        var file = Path.Combine(Path.GetTempPath(), $"dualfx-garbage-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(file, [0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03]);
        try
        {
            ShouldFail(DualfxRunner.Run("inspect", file), 1, "not a valid ONNX model");
            ShouldFail(DualfxRunner.Run("export", file, "-o", file + ".onnx"), 1, file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public void Help_Succeeds()
    {
        var run = DualfxRunner.Run("train", "--help");
        run.ExitCode.Should().Be(0);
        run.Output.Should().Contain("--train-limit").And.Contain("--plot");
    }
}
