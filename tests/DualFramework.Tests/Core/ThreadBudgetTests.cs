using DualFramework.Backends;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Core;

[TestFixture]
[NonParallelizable]
public class ThreadBudgetTests
{
    private static void With(string? localSize, string? threads, Action check)
    {
        var saved = (Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), Environment.GetEnvironmentVariable("DUALFRAMEWORK_NUM_THREADS"));
        try
        {
            Environment.SetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE", localSize);
            Environment.SetEnvironmentVariable("DUALFRAMEWORK_NUM_THREADS", threads);
            check();
        }
        finally
        {
            Environment.SetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE", saved.Item1);
            Environment.SetEnvironmentVariable("DUALFRAMEWORK_NUM_THREADS", saved.Item2);
        }
    }

    [Test]
    public void CoresAreSplitAmongLocalRanks_AndTheOverrideWins()
    {
        int cores = Environment.ProcessorCount;
        With(null, null, () =>
        {
            ThreadBudget.IsConstrained.Should().BeFalse();
            ThreadBudget.PerProcess.Should().Be(cores);
        });
        With("2", null, () =>
        {
            ThreadBudget.LocalProcesses.Should().Be(2);
            ThreadBudget.IsConstrained.Should().BeTrue();
            ThreadBudget.PerProcess.Should().Be(Math.Max(1, cores / 2));
        });
        With(((cores + 1) * 2).ToString(System.Globalization.CultureInfo.InvariantCulture), null, () => ThreadBudget.PerProcess.Should().Be(1));
        With("2", "3", () => ThreadBudget.PerProcess.Should().Be(3));
        // The graph backend always sizes ONNX Runtime's pool itself (left at 0, ORT pins one thread per core).
        With(null, null, () =>
        {
            using var graph = new DualFramework.OnnxRuntime.GraphBackend();
            graph.Options.IntraOpNumThreads.Should().Be(cores);
        });
        With("2", null, () =>
        {
            using var graph = new DualFramework.OnnxRuntime.GraphBackend();
            graph.Options.IntraOpNumThreads.Should().Be(Math.Max(1, cores / 2));
        });
        With("junk", "0", () =>
        {
            ThreadBudget.LocalProcesses.Should().Be(1);
            ThreadBudget.Override.Should().BeNull();
        });
    }
}
