using DualFramework.Fuzz;
using DualFramework.Fuzz.Targets;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Fuzz;

/// <summary>
/// The CI share of the loader fuzzing (docs/reliability.md, "Fuzzed loaders"): 1,000 seeded inputs per loader, each of
/// which must load or end in the loader's documented exception within the time and allocation bounds. scripts/fuzz.sh
/// runs the same inputs and 9,000 more per loader.
/// </summary>
[TestFixture]
[NonParallelizable]
public class LoaderFuzzTests
{
    private const int Inputs = 1000;
    private const int Seed = 0;

    private static void ShouldBeClean(FuzzReport report)
    {
        TestContext.Out.WriteLine(report.ToJson());
        var failures = string.Join("\n\n", report.Failures.Take(3).Select(f => $"input {f.Index} ({f.Outcome}): {f.Detail}"));
        report.Inputs.Should().Be(Inputs);
        report.Crashes.Should().Be(0, failures);
        report.Hangs.Should().Be(0, failures);
        // Both kinds of ending occur: the mutations reach past the first checks and still break files.
        report.Valid.Should().BePositive();
        report.Rejected.Should().BePositive();
    }

    [Test]
    public void Onnx_ThousandMutatedModels_LoadOrRaiseOnnxImportException()
    {
        if (!Directory.Exists(OnnxTarget.DefaultNodeTests)) Assert.Ignore("libonnx-testdata is not installed (scripts/install-system-deps.sh --tests).");
        var resnet = OnnxTarget.FindResNet18();
        resnet.Should().NotBeNull("restore downloads the ResNet18 package");
        using var target = new OnnxTarget(resNet18: resnet);
        ShouldBeClean(new FuzzRunner().Run(target, Inputs, Seed));
    }

    [Test]
    public void SafeTensors_ThousandMutatedCheckpoints_LoadOrRaiseCheckpointException()
    {
        using var target = new SafeTensorsTarget();
        ShouldBeClean(new FuzzRunner().Run(target, Inputs, Seed));
    }

    [Test]
    public void Idx_ThousandMutatedFashionMnistFiles_LoadOrRaiseInvalidDataException()
    {
        if (!DualFramework.Data.FashionMnist.IsAvailable()) Assert.Ignore("dataset-fashion-mnist is not installed (scripts/install-system-deps.sh).");
        using var target = new IdxTarget();
        ShouldBeClean(new FuzzRunner().Run(target, Inputs, Seed));
    }
}
