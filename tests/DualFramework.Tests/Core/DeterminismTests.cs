using System.Diagnostics;
using DualFramework.Backends;
using DualFramework.Torch;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Core;

/// <summary>Deterministic mode: two runs of the same program give bit-identical losses on each backend.</summary>
[TestFixture]
[NonParallelizable]
public class DeterminismTests
{
    private static readonly string Worker = Path.Combine(AppContext.BaseDirectory, "DualFramework.DistributedWorker.dll");

    // Each run is a separate process (fresh allocator, thread pools and address layout), as a user's repeated runs are.
    private static string[] Run(string backend, bool deterministic)
    {
        var psi = new ProcessStartInfo("dotnet", $"\"{Worker}\" repeat --backend {backend} --steps 10")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment[Determinism.EnvironmentVariable] = deterministic ? "1" : "0";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var lines = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        p.WaitForExit(120_000).Should().BeTrue("the run ends");
        p.ExitCode.Should().Be(0, stderr.Result);
        return lines;
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void Deterministic_mode_repeats_a_training_run_bit_for_bit(string backend)
    {
        var first = Run(backend, deterministic: true);
        var second = Run(backend, deterministic: true);
        first[0].Should().Be("deterministic True", "the environment variable turns the mode on");
        first.Where(l => l.StartsWith("step ", StringComparison.Ordinal)).Should().HaveCount(10);
        second.Should().Equal(first, "each step's loss has the same bits in both runs");
    }

    [Test]
    public void Enable_and_disable_switch_libtorch_deterministic_algorithms()
    {
        _ = BackendRegistry.Get("torch"); // the backend subscribes to the mode when it is created
        bool initial = Determinism.IsEnabled;
        try
        {
            Determinism.Disable();
            TorchBackend.IsDeterministic.Should().BeFalse();
            Determinism.Enable();
            Determinism.IsEnabled.Should().BeTrue();
            TorchBackend.IsDeterministic.Should().BeTrue("libtorch's own flag is read back");
            Determinism.Disable();
            TorchBackend.IsDeterministic.Should().BeFalse();
        }
        finally
        {
            if (initial) Determinism.Enable();
            else Determinism.Disable();
        }
    }
}
