using System.Diagnostics;
using DualFramework.Tests.Onnx;
using DualFramework.Tools.Dualfx.Commands;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Cli;

[TestFixture]
public class DualfxInspectTests
{
    [Test]
    public void ResNet18_Summary()
    {
        var path = ImportTests.ResNet18Path();
        InspectCommand.Inspect(path); // warm-up: JIT and protobuf reflection are not the tool's steady cost
        var sw = Stopwatch.StartNew();
        var summary = InspectCommand.Inspect(path);
        sw.Stop();
        TestContext.Out.WriteLine($"inspect ResNet18: {sw.Elapsed.TotalMilliseconds:F0} ms");
        summary.OpCounts.Should().Contain(new Dictionary<string, int> { ["Conv"] = 22, ["BatchNormalization"] = 22, ["Add"] = 9, ["MaxPool"] = 1 });
        summary.ParameterCount.Should().Be(15_908_800);
        summary.ParameterBytes.Should().Be(15_908_800L * 4);
        sw.Elapsed.TotalSeconds.Should().BeLessThan(10, "the target is under 2 s; the bound is loose for loaded CI machines");

        var run = DualfxRunner.Run("inspect", path);
        run.ExitCode.Should().Be(0, run.Error);
        run.Output.Should().Contain("Input247").And.Contain("[1, 3, 224, 224]").And.Contain("Pooling395_Output_0").And.Contain("ai.onnx 8");
        run.Output.Split('\n').Should().Contain(l => l.Trim().StartsWith("Conv ") && l.Trim().EndsWith(" 22"));
        run.Output.Should().NotContain("\x1b").And.NotContain("\r");

        var json = DualfxRunner.Run("inspect", path, "--json");
        json.ExitCode.Should().Be(0, json.Error);
        var doc = System.Text.Json.JsonDocument.Parse(json.Output.Trim()).RootElement;
        doc.GetProperty("parameters").GetInt64().Should().Be(15_908_800);
        doc.GetProperty("ops").GetProperty("Conv").GetInt32().Should().Be(22);
        doc.GetProperty("tables").GetProperty("inputs")[0].GetProperty("name").GetString().Should().Be("Input247");
    }
}
