using System.Globalization;
using DualFramework.Backends;
using DualFramework.Checkpoints;
using DualFramework.Samples.FashionMnist;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Reliability;

/// <summary>
/// Kill and resume (docs/reliability.md): the Fashion-MNIST sample, run as a real process with a checkpoint every 3 steps,
/// is killed with SIGKILL at a random step or inside a checkpoint write, resumed from its newest checkpoint, and must end
/// with parameters bit-identical to an uninterrupted run. The run is small (640 images, 2 epochs of 10 steps, the MLP with
/// dropout, so layer generator states matter too) and deterministic (deterministic mode, one compute thread).
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Reliability")]
public class KillResumeTests
{
    private const int Steps = 20, Every = 3;
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        if (!DualFramework.Data.FashionMnist.IsAvailable()) Assert.Ignore("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        _dir = Directory.CreateTempSubdirectory("df-killresume-").FullName;
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static string Arguments(string backend, string checkpoints, string model) => string.Create(CultureInfo.InvariantCulture,
        $"--backend {backend} --model mlp --dropout 0.25 --train-limit 640 --test-limit 100 --epochs 2 --batch-size 64 --checkpoint-dir \"{checkpoints}\" --checkpoint-every {Every} --log-steps --save-model \"{model}\"");

    private static ChildProcess Start(string arguments, int? stallWrite = null)
    {
        var env = new Dictionary<string, string>
        {
            [Determinism.EnvironmentVariable] = "1",
            ["DUALFRAMEWORK_NUM_THREADS"] = "1", // the same thread count in every run (and no oversubscription on CI)
        };
        if (stallWrite is { } n) env["DUALFRAMEWORK_TEST_STALL_CHECKPOINT_WRITE"] = n.ToString(CultureInfo.InvariantCulture);
        return new ChildProcess("FashionMnist.dll", arguments, env);
    }

    private static void RunToEnd(string arguments)
    {
        using var p = Start(arguments);
        p.WaitForExit().Should().Be(0, p.Output);
    }

    private byte[] Uninterrupted(string backend)
    {
        var model = Path.Combine(_dir, "reference.safetensors");
        RunToEnd(Arguments(backend, Path.Combine(_dir, "reference"), model));
        return File.ReadAllBytes(model);
    }

    private static void EveryCheckpointReadsBack(string dir)
    {
        foreach (var f in Directory.EnumerateFiles(dir, "step-*.safetensors"))
        {
            var read = () => { using var c = Checkpoint.Load(f); };
            read.Should().NotThrow($"{Path.GetFileName(f)} is complete (atomic writes)");
        }
    }

    [TestCase("torch", 1, 2)]
    [TestCase("graph", 3, 4)]
    public void A_run_killed_at_a_random_step_resumes_to_bit_identical_parameters(string backend, int seed1, int seed2)
    {
        var reference = Uninterrupted(backend);
        foreach (var seed in new[] { seed1, seed2 })
        {
            int killAfter = new Random(seed).Next(1, Steps); // the kill lands at or a little after this step
            var checkpoints = Path.Combine(_dir, $"run{seed}");
            var model = Path.Combine(_dir, $"run{seed}.safetensors");
            var args = Arguments(backend, checkpoints, model);
            using (var p = Start(args))
            {
                p.WaitForLine(l => l == $"step {killAfter}" || l.StartsWith($"step {killAfter} ", StringComparison.Ordinal))
                    .Should().NotBeNull($"the run reaches step {killAfter}: {p.Output}");
                p.Kill();
            }
            File.Exists(model).Should().BeFalse("the killed run never finished");
            if (Directory.Exists(checkpoints)) EveryCheckpointReadsBack(checkpoints);

            using (var p = Start(args + " --resume"))
            {
                p.WaitForExit().Should().Be(0, p.Output);
                if (killAfter >= Every) p.Output.Should().Contain("resuming from", "a checkpoint existed before the kill");
            }
            File.ReadAllBytes(model).Should().Equal(reference, $"seed {seed}: killed after step {killAfter}, then resumed");
        }
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void A_run_killed_inside_a_checkpoint_write_keeps_the_previous_checkpoint_and_resumes_bit_identical(string backend)
    {
        var reference = Uninterrupted(backend);
        var checkpoints = Path.Combine(_dir, "stalled");
        var model = Path.Combine(_dir, "stalled.safetensors");
        var args = Arguments(backend, checkpoints, model);
        using (var p = Start(args, stallWrite: 2)) // the second write (step 6) stops halfway and waits to be killed
        {
            p.WaitForLine(l => l.StartsWith("checkpoint write stalled: ", StringComparison.Ordinal)).Should().NotBeNull(p.Output);
            p.Kill();
        }
        var partial = Directory.GetFiles(checkpoints, ".step-6.safetensors.*.tmp").Should().ContainSingle("the interrupted write left its temporary file").Subject;
        new FileInfo(partial).Length.Should().BeLessThan(new FileInfo(Path.Combine(checkpoints, "step-3.safetensors")).Length, "the write was cut halfway");
        File.Exists(Path.Combine(checkpoints, "step-6.safetensors")).Should().BeFalse("the interrupted file was never renamed into place");
        EveryCheckpointReadsBack(checkpoints);
        DualFramework.Training.ModelCheckpoint.Latest(RunCallbacks.Pattern(checkpoints)).Should().EndWith("step-3.safetensors");

        using (var p = Start(args + " --resume"))
        {
            p.WaitForExit().Should().Be(0, p.Output);
            p.Output.Should().Contain("step-3.safetensors");
        }
        File.ReadAllBytes(model).Should().Equal(reference, "resumed from step 3 after the kill inside the step-6 write");
        File.Exists(partial).Should().BeFalse("the resumed run removes stale temporary files");
        Directory.GetFiles(checkpoints, "step-*.safetensors").Select(Path.GetFileName).Should().BeEquivalentTo(["step-15.safetensors", "step-18.safetensors"], "the last 2 are kept");
    }
}
