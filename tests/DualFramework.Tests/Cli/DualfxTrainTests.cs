using System.Buffers.Binary;
using System.Text.Json;
using DualFramework.Data;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Cli;

/// <summary>One short <c>dualfx train</c> run (MLP, 2,000 images, one epoch) and what it leaves behind.</summary>
[TestFixture]
public class DualfxTrainTests
{
    private string _dir = "";
    private DualfxRunner.Result _run = null!;

    [OneTimeSetUp]
    public void Train()
    {
        if (!FashionMnist.IsAvailable()) Assert.Ignore("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        _dir = DualfxRunner.TempDir("train");
        _run = DualfxRunner.Run("train", "--model", "mlp", "--epochs", "1", "--train-limit", "2000", "--test-limit", "500",
            "--batch-size", "100", "--plot", Path.Combine(_dir, "x.png"), "--log", Path.Combine(_dir, "m.csv"),
            "--checkpoint", Path.Combine(_dir, "ck"), "--json");
        TestContext.Out.WriteLine(_run.All);
    }

    [OneTimeTearDown]
    public void CleanUp()
    {
        if (_dir.Length > 0 && Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Test]
    public void Succeeds_WithAJsonSummaryLast()
    {
        _run.ExitCode.Should().Be(0, _run.Error);
        var last = _run.Output.TrimEnd().Split('\n')[^1];
        using var json = JsonDocument.Parse(last);
        var root = json.RootElement;
        root.GetProperty("model").GetString().Should().Be("mlp");
        root.GetProperty("train_images").GetInt32().Should().Be(2000);
        root.GetProperty("test_images").GetInt32().Should().Be(500);
        root.GetProperty("test_accuracy").GetDouble().Should().BeInRange(0.5, 1.0, "an MLP beats chance (0.1) by far after one epoch");
        root.GetProperty("history").GetArrayLength().Should().Be(1);
        root.GetProperty("history")[0].GetProperty("val_accuracy").GetDouble().Should().Be(root.GetProperty("test_accuracy").GetDouble());
    }

    [Test]
    public void RedirectedOutput_HasNoEscapeCodesOrCarriageReturns()
    {
        _run.All.Should().NotContain("\x1b").And.NotContain("\r");
        _run.Output.Should().Contain("epoch 1/1: loss").And.Contain("epoch 1/1 25%");
    }

    [Test]
    public void Plot_IsAPngOfTheExpectedSize()
    {
        var bytes = File.ReadAllBytes(Path.Combine(_dir, "x.png"));
        bytes.Length.Should().BeInRange(5_000, 2_000_000);
        bytes.AsSpan(0, 8).ToArray().Should().Equal(0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A);
        // The first chunk is IHDR: length 13, then width and height big-endian.
        System.Text.Encoding.ASCII.GetString(bytes, 12, 4).Should().Be("IHDR");
        BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)).Should().Be(1200);
        BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)).Should().Be(500);
        System.Text.Encoding.ASCII.GetString(bytes, bytes.Length - 8, 4).Should().Be("IEND");
    }

    [Test]
    public void Log_HasAHeaderAndOneRow()
    {
        var lines = File.ReadAllLines(Path.Combine(_dir, "m.csv"));
        lines.Should().HaveCount(2);
        lines[0].Split(',').Should().StartWith("epoch").And.Contain(["loss", "accuracy", "val_loss", "val_accuracy"]);
        lines[1].Should().StartWith("1,");
    }

    [Test]
    public void Checkpoint_IsInspectedAndExported()
    {
        var ck = Path.Combine(_dir, "ck");
        File.Exists(Path.Combine(ck, "epoch-1.safetensors")).Should().BeTrue();
        var inspect = DualfxRunner.Run("inspect", ck);
        inspect.ExitCode.Should().Be(0, inspect.Error);
        inspect.Output.Should().Contain("training checkpoint").And.Contain("user.model").And.Contain("203,530 in 4 tensors");

        var onnx = Path.Combine(_dir, "mlp.onnx");
        var export = DualfxRunner.Run("export", ck, "-o", onnx);
        export.ExitCode.Should().Be(0, export.Error);
        export.Output.Should().Contain("Gemm");
        File.Exists(onnx).Should().BeTrue();

        var quantize = DualfxRunner.Run("quantize", onnx, "-o", Path.Combine(_dir, "mlp-int8.onnx"), "--calibration-samples", "50");
        quantize.ExitCode.Should().Be(0, quantize.Error);
        quantize.Output.Should().Contain("static int8 quantization").And.Contain("calibration on 50 samples");
    }
}
