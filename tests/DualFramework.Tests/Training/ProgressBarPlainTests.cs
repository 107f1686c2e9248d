using DualFramework.NN;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Training;

/// <summary>Redirected (or mpirun) output gets plain progress lines: no carriage return, no escape code.</summary>
[TestFixture]
public class ProgressBarPlainTests
{
    private static string Drive(ProgressBar bar)
    {
        using var net = new Linear(2, 2, rng: new SeededRandom(1));
        using var trainer = new Trainer(net);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            bar.OnEpochBegin(trainer, epoch);
            for (int seen = 100; seen <= 1000; seen += 100)
                bar.OnBatchEnd(trainer, seen / 100, new Dictionary<string, double> { ["loss"] = 1.0 / seen, ["samples"] = seen, ["samples_per_second"] = 500 });
            bar.OnEpochEnd(trainer, epoch, new Dictionary<string, double> { ["loss"] = 0.5 });
        }
        return bar.Output.ToString()!;
    }

    [Test]
    public void AStringWriter_GetsOneLinePerQuarter()
    {
        var text = Drive(new ProgressBar(1000, 2) { Output = new StringWriter(), EpochOutput = TextWriter.Null });
        text.Should().NotContain("\r").And.NotContain("\x1b");
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(6)
            .And.Contain(l => l.StartsWith("epoch 2/2 50% 500/1000 loss"));
    }

    [Test]
    public void ForcedInteractive_StillRedraws()
    {
        var text = Drive(new ProgressBar(1000, 2) { Output = new StringWriter(), EpochOutput = TextWriter.Null, Plain = false, Interval = TimeSpan.Zero });
        text.Should().Contain("\repoch 1/2 [");
    }
}
