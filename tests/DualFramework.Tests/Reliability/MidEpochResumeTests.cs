using DualFramework.Backends;
using DualFramework.Checkpoints;
using DualFramework.Data;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Reliability;

/// <summary>In-process checks of mid-epoch checkpoints: the data position and generator states they record, resuming on
/// each backend, keeping the last files and skipping a damaged one.</summary>
[TestFixture]
[Category("Reliability")]
public class MidEpochResumeTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("df-midepoch-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static Dataset<Batch> Data()
    {
        var rng = new SeededRandom(7);
        var x = new float[96 * 4];
        var y = new long[96];
        for (int i = 0; i < 96; i++)
        {
            y[i] = i % 3;
            for (int j = 0; j < 4; j++) x[i * 4 + j] = (float)((j == y[i] ? 2.0 : 0.0) + 0.5 * rng.Normal());
        }
        return Dataset.FromArrays(x, [4], y).Shuffle(11).Batch(8); // 12 batches per epoch
    }

    private sealed class Run : IDisposable
    {
        public Run(long seed)
        {
            var rng = new SeededRandom(seed);
            Model = new Sequential(new Linear(4, 16, rng: rng), new ReLU(), new Dropout(0.3, rng), new Linear(16, 3, rng: rng));
            Optimizer = new Adam(Model.Parameters(), 0.01);
            Trainer = new Trainer(Model);
            Trainer.Compile(Optimizer, new CrossEntropyLoss());
        }

        public Module Model { get; }
        public Adam Optimizer { get; }
        public Trainer Trainer { get; }

        public byte[][] Parameters() => Model.StateDict().OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value.ToBytes()).ToArray();

        public void Dispose()
        {
            Trainer.Dispose();
            Optimizer.Dispose();
            Model.Dispose();
        }
    }

    private sealed class StopAfter(long step) : Callback
    {
        public override void OnBatchEnd(Trainer trainer, long s, IReadOnlyDictionary<string, double> logs)
        {
            if (s == step) trainer.StopTraining = true;
        }
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void A_run_stopped_mid_epoch_resumes_from_its_step_checkpoint_bit_identical(string backend)
    {
        using var use = BackendRegistry.Use(BackendRegistry.Get(backend));
        var lr = new LearningRateScheduler(new CosineLr(36), perStep: true);
        byte[][] straight;
        using (var a = new Run(5))
        {
            a.Trainer.Fit(Data(), 3, callbacks: [lr]);
            straight = a.Parameters();
        }

        var pattern = Path.Combine(_dir, "step-{step}.safetensors");
        using (var b = new Run(5))
        {
            var ckpt = new ModelCheckpoint(pattern) { EverySteps = 4, KeepLast = 2 };
            b.Trainer.Fit(Data(), 3, callbacks: [lr, ckpt, new StopAfter(19)]);
            b.Trainer.GlobalStep.Should().Be(19, "StopTraining set in OnBatchEnd ends Fit after that batch");
            ckpt.Written.Select(Path.GetFileName).Should().Equal("step-4.safetensors", "step-8.safetensors", "step-12.safetensors", "step-16.safetensors");
            Directory.GetFiles(_dir).Select(Path.GetFileName).Should().BeEquivalentTo(["step-12.safetensors", "step-16.safetensors"], "KeepLast = 2");
            SafeTensors.ReadHeader(Path.Combine(_dir, "step-16.safetensors")).Metadata["training.data_position"].Should().Be("epoch=1;batch=4");
        }

        using var c = new Run(999); // other weights and dropout seeds: the checkpoint must overwrite all of them
        var latest = ModelCheckpoint.Latest(pattern)!;
        latest.Should().EndWith("step-16.safetensors");
        c.Trainer.Resume(latest).Should().Be(1, "step 16 lies in epoch 1 (0-based)");
        (c.Trainer.GlobalStep, c.Trainer.CurrentEpoch, c.Trainer.BatchInEpoch).Should().Be((16L, 1, 4L));
        c.Trainer.Fit(Data(), 3, callbacks: [lr], initialEpoch: 1);
        c.Trainer.GlobalStep.Should().Be(36);
        var resumed = c.Parameters();
        for (int i = 0; i < straight.Length; i++) resumed[i].Should().Equal(straight[i], $"state tensor {i} after the resume on {backend}");
    }

    [Test]
    public void Latest_skips_a_damaged_newest_checkpoint_for_the_one_before()
    {
        var pattern = Path.Combine(_dir, "ckpt-{step}.safetensors");
        using (var r = new Run(1))
            r.Trainer.Fit(Data(), 1, callbacks: [new ModelCheckpoint(pattern) { EverySteps = 5 }]);
        ModelCheckpoint.Latest(pattern).Should().EndWith("ckpt-10.safetensors");
        var newest = Path.Combine(_dir, "ckpt-10.safetensors");
        var bytes = File.ReadAllBytes(newest);
        bytes[^3] ^= 0x40; // a flipped bit in the data: the checksum no longer matches
        File.WriteAllBytes(newest, bytes);
        ModelCheckpoint.Latest(pattern).Should().EndWith("ckpt-5.safetensors");
        ModelCheckpoint.Latest(Path.Combine(_dir, "none-{step}.safetensors")).Should().BeNull();
    }
}
