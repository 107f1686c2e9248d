using DualFramework.Data;
using DualFramework.Samples.FashionMnist;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Parity;

/// <summary>The main job's accuracy targets (seed 0, 2 epochs) on both backends, through the sample's own code.</summary>
[TestFixture]
[Category("Parity")]
[NonParallelizable]
public class FashionMnistTargetTests
{
    private static FashionMnistData? _data;

    private static FashionMnistData Data()
    {
        if (!FashionMnist.IsAvailable()) Assert.Ignore("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        return _data ??= FashionMnist.Load();
    }

    [TestCase("torch", "mlp", 0.87)]
    [TestCase("graph", "mlp", 0.87)]
    [TestCase("torch", "cnn", 0.90)]
    [TestCase("graph", "cnn", 0.90)]
    public void Two_epochs_reach_the_target(string backend, string model, double target)
    {
        var r = FashionMnistJob.Run(new JobOptions { Backend = backend, Model = model, Seed = 0, Progress = false }, Data());
        TestContext.Out.WriteLine($"{backend} {model}: test accuracy {r.TestAccuracy:F4} in {r.TrainSeconds:F1} s");
        r.TestAccuracy.Should().BeGreaterThanOrEqualTo(target);
    }

    [TestCase("torch", "mixed_bfloat16")]
    [TestCase("graph", "mixed_bfloat16")]
    [TestCase("torch", "mixed_float16")]
    [TestCase("graph", "mixed_float16")]
    public void Mixed_precision_cnn_reaches_the_float32_target(string backend, string precision)
    {
        var r = FashionMnistJob.Run(new JobOptions { Backend = backend, Model = "cnn", Seed = 0, Progress = false, Precision = precision }, Data());
        TestContext.Out.WriteLine($"{backend} cnn {precision}: test accuracy {r.TestAccuracy:F4} in {r.TrainSeconds:F1} s, {r.SkippedSteps} skipped steps");
        r.Precision.Should().Be(precision);
        r.TestAccuracy.Should().BeGreaterThanOrEqualTo(0.90);
    }
}
