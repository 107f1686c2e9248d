using DualFramework.Checkpoints;
using DualFramework.NN;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Checkpoints;

[TestFixture]
public class CheckpointTests
{
    /// <summary>A tiny model: two parameters, an int64 buffer and a child with a parameter.</summary>
    private sealed class Tiny : Module
    {
        private sealed class Head : Module
        {
            public Head(float v) => RegisterParameter("w", Tensor.FromArray([v, v + 1], new Shape(2)));
        }

        public Tiny(float v, bool variant = false)
        {
            var w = Enumerable.Range(0, 6).Select(i => v * 10 + i).ToArray();
            RegisterParameter("weight", Tensor.FromArray(w, variant ? new Shape(3, 2) : new Shape(2, 3)));
            RegisterParameter("bias", Tensor.FromArray([v, -v, 0.5f * v], new Shape(3)));
            if (variant)
            {
                RegisterBuffer("steps", Tensor.Scalar((int)v));
                RegisterParameter("extra", Tensor.FromArray(1.0));
            }
            else
            {
                RegisterBuffer("steps", Tensor.Scalar((long)v * 100));
                RegisterModule("head", new Head(v));
            }
        }
    }

    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "df-ckpt-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static void ShouldEqual(Module a, Module b)
    {
        var sa = a.StateDict();
        var sb = b.StateDict();
        sb.Keys.Should().BeEquivalentTo(sa.Keys);
        foreach (var (n, t) in sa)
        {
            sb[n].Spec.Should().Be(t.Spec, n);
            sb[n].ToDoubleArray().Should().Equal(t.ToDoubleArray(), n);
        }
    }

    [Test]
    public void Training_state_round_trips_through_one_file()
    {
        using var s = TensorScope.Begin();
        using var saved = new Tiny(2);
        using var restored = new Tiny(7);
        var path = Path.Combine(_dir, "ckpt.safetensors");
        var optimizer = new Dictionary<string, Tensor>
        {
            ["weight.exp_avg"] = Tensor.FromArray([0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f], new Shape(2, 3)),
            ["step"] = Tensor.Scalar(42L),
        };
        var progress = new TrainingProgress
        {
            Epoch = 3,
            Step = 1234,
            RngState = "seed=7;draws=99",
            DataPosition = "shard=2;index=17",
            Metadata = new Dictionary<string, string> { ["lr"] = "0.001", ["note"] = "ünïcode" },
        };
        Checkpoint.Save(path, saved, optimizer, progress);

        using var resume = Checkpoint.LoadInto(path, restored);
        ShouldEqual(saved, restored);
        resume.Progress.Epoch.Should().Be(3);
        resume.Progress.Step.Should().Be(1234);
        resume.Progress.RngState.Should().Be("seed=7;draws=99");
        resume.Progress.DataPosition.Should().Be("shard=2;index=17");
        resume.Progress.Metadata.Should().BeEquivalentTo(progress.Metadata);
        resume.Optimizer.Keys.Should().BeEquivalentTo("weight.exp_avg", "step");
        resume.Optimizer["weight.exp_avg"].ToArray<float>().Should().Equal(0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f);
        resume.Optimizer["step"].ToArray<long>().Should().Equal(42L);
        restored.NamedVariables()["weight"].Trainable.Should().BeTrue();
        restored.NamedVariables()["weight"].Value.RequiresGrad.Should().BeTrue("loaded values are still trainable parameters");
    }

    [Test]
    public void Optimizer_tensors_outlive_the_callers_scope()
    {
        using var saved = new Tiny(1);
        using var restored = new Tiny(5);
        var path = Path.Combine(_dir, "c.safetensors");
        using (TensorScope.Begin())
            Checkpoint.Save(path, saved, new Dictionary<string, Tensor> { ["m"] = Tensor.FromArray(9f) });
        ResumeState resume;
        using (TensorScope.Begin()) resume = Checkpoint.LoadInto(path, restored);
        resume.Optimizer["m"].IsDisposed.Should().BeFalse();
        resume.Dispose();
        resume.Optimizer["m"].IsDisposed.Should().BeTrue();
    }

    [Test]
    public void Load_returns_all_parts_without_a_model()
    {
        using var s = TensorScope.Begin();
        using var saved = new Tiny(2);
        var path = Path.Combine(_dir, "c.safetensors");
        Checkpoint.Save(path, saved, new Dictionary<string, Tensor> { ["v"] = Tensor.FromArray(1.0, 2.0) }, new TrainingProgress { Epoch = 9 });
        using var c = Checkpoint.Load(path);
        c.Model.Keys.Should().BeEquivalentTo("weight", "bias", "steps", "head.w");
        c.Model["steps"].ToArray<long>().Should().Equal(200L);
        c.Optimizer["v"].ToArray<double>().Should().Equal(1.0, 2.0);
        c.Progress.Epoch.Should().Be(9);
        c.Progress.Step.Should().Be(0);
        c.Progress.RngState.Should().BeNull();
        c.RawMetadata[Checkpoint.KindKey].Should().Be(Checkpoint.KindValue);
        SafeTensors.ReadHeader(path).Entries.Select(e => e.Name)
            .Should().Equal("model.bias", "model.head.w", "model.steps", "model.weight", "optimizer.v");
    }

    [Test]
    public void Mismatched_model_reports_every_problem_with_the_path_and_changes_nothing()
    {
        using var s = TensorScope.Begin();
        using var saved = new Tiny(2);
        using var other = new Tiny(4, variant: true);
        var biasBefore = other.StateDict()["bias"].ToFloatArray();
        var path = Path.Combine(_dir, "c.safetensors");
        Checkpoint.Save(path, saved);

        var act = () => Checkpoint.LoadInto(path, other);
        var e = act.Should().Throw<StateDictException>().Which;
        e.Message.Should().Contain(path).And.Contain("4 problem(s)");
        e.Problems.Should().HaveCount(4);
        e.Problems.Should().Contain("'weight': expected float32[3, 2], got float32[2, 3]");
        e.Problems.Should().Contain("'steps': expected int32[], got int64[]");
        e.Problems.Should().Contain(p => p.StartsWith("missing 'extra'"));
        e.Problems.Should().Contain("unexpected 'head.w'");
        other.StateDict()["bias"].ToFloatArray().Should().Equal(biasBefore);
        s.Count.Should().Be(0, "loaded tensors are freed after a failed load");
    }

    [Test]
    public void Non_strict_load_allows_missing_and_unexpected_names()
    {
        using var s = TensorScope.Begin();
        using var saved = new Tiny(2);
        using var other = new Tiny(4);
        var path = Path.Combine(_dir, "partial.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["bias"] = saved.StateDict()["bias"], ["junk"] = Tensor.FromArray(1) });
        using var _ = Checkpoint.LoadInto(path, other, strict: false);
        other.StateDict()["bias"].ToFloatArray().Should().Equal(2f, -2f, 1f);
        other.StateDict()["weight"].ToFloatArray()[0].Should().Be(40f);
    }

    [Test]
    public void Plain_safetensors_weight_file_loads_as_a_state_dict()
    {
        using var s = TensorScope.Begin();
        using var saved = new Tiny(3);
        using var restored = new Tiny(8);
        var path = Path.Combine(_dir, "weights.safetensors");
        SafeTensors.Save(path, saved.StateDict());
        using var resume = Checkpoint.LoadInto(path, restored);
        ShouldEqual(saved, restored);
        resume.Optimizer.Should().BeEmpty();
        resume.Progress.Epoch.Should().Be(0);
    }

    [Test]
    public void Corrupted_checkpoint_fails_before_changing_the_model()
    {
        using var s = TensorScope.Begin();
        using var saved = new Tiny(2);
        using var other = new Tiny(4);
        var path = Path.Combine(_dir, "c.safetensors");
        Checkpoint.Save(path, saved);
        var bytes = File.ReadAllBytes(path);
        bytes[^2] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        var before = other.StateDict()["weight"].ToFloatArray();
        var act = () => Checkpoint.LoadInto(path, other);
        act.Should().Throw<CheckpointException>().WithMessage($"*{path}*checksum*");
        other.StateDict()["weight"].ToFloatArray().Should().Equal(before);
    }

    [Test]
    public void Bad_progress_metadata_and_stray_tensors_are_reported()
    {
        using var s = TensorScope.Begin();
        var path = Path.Combine(_dir, "c.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["model.a"] = Tensor.FromArray(1f) },
            new Dictionary<string, string> { [Checkpoint.KindKey] = Checkpoint.KindValue, ["training.epoch"] = "three" });
        ((Action)(() => Checkpoint.Load(path))).Should().Throw<CheckpointException>().WithMessage("*training.epoch*three*");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["stray"] = Tensor.FromArray(1f) },
            new Dictionary<string, string> { [Checkpoint.KindKey] = Checkpoint.KindValue });
        ((Action)(() => Checkpoint.Load(path))).Should().Throw<CheckpointException>().WithMessage("*stray*");
    }
}
