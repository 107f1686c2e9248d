using DualFramework.Data;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Training;

/// <summary>A two-layer perceptron written directly with ops, so these tests do not depend on the layer library.</summary>
internal sealed class TinyMlp : Module
{
    private readonly Variable _w1, _b1, _w2, _b2;

    public TinyMlp(long seed, int inputs = 4, int hidden = 16, int classes = 3)
    {
        var rng = new SeededRandom(seed);
        _w1 = RegisterParameter("w1", Init.KaimingUniform(new Shape(inputs, hidden), inputs, Math.Sqrt(5), rng));
        _b1 = RegisterParameter("b1", Init.FanInUniform(new Shape(hidden), inputs, rng));
        _w2 = RegisterParameter("w2", Init.KaimingUniform(new Shape(hidden, classes), hidden, Math.Sqrt(5), rng));
        _b2 = RegisterParameter("b2", Init.FanInUniform(new Shape(classes), hidden, rng));
    }

    public override Tensor Forward(Tensor input)
    {
        var h = Ops.Relu(Ops.Add(Ops.MatMul(input, _w1.Value), _b1.Value));
        return Ops.Add(Ops.MatMul(h, _w2.Value), _b2.Value);
    }
}

[TestFixture]
public class TrainerTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("df-trainer-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    // Three Gaussian blobs in 4-D: learnable, deterministic.
    private static Dataset<Example> Blobs(int n, long seed)
    {
        var rng = new SeededRandom(seed);
        var x = new float[n * 4];
        var y = new long[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % 3;
            for (int j = 0; j < 4; j++) x[i * 4 + j] = (float)((j == y[i] ? 2.0 : 0.0) + 0.5 * rng.Normal());
        }
        return Dataset.FromArrays(x, [4], y);
    }

    private static (Trainer, TinyMlp, Adam) Make(long initSeed)
    {
        var m = new TinyMlp(initSeed);
        var opt = new Adam(m.Parameters(), 0.01);
        var t = new Trainer(m);
        t.Compile(opt, new CrossEntropyLoss(), [new Accuracy()]);
        return (t, m, opt);
    }

    private static byte[][] Bytes(Module m) => m.StateDict().OrderBy(kv => kv.Key).Select(kv =>
    {
        var b = new byte[kv.Value.NumElements * 4];
        kv.Value.CopyBytesTo(b);
        return b;
    }).ToArray();

    [Test]
    public void Fit_learns_and_records_history_and_evaluate_and_predict_agree()
    {
        var (trainer, model, opt) = Make(1);
        using (model)
        using (opt)
        {
            var train = Blobs(240, 2).Shuffle(3).Batch(16);
            var val = Blobs(90, 4).Batch(30);
            var history = trainer.Fit(train, 5, val);
            history.Epochs.Should().HaveCount(5);
            history["loss"][4].Should().BeLessThan(history["loss"][0]);
            history["val_accuracy"][4].Should().BeGreaterThan(0.9);
            trainer.GlobalStep.Should().Be(5 * 15);
            var eval = trainer.Evaluate(val);
            eval["accuracy"].Should().Be(history["val_accuracy"][4]);
            using var pred = trainer.Predict(val);
            pred.Shape.Should().Be(new Shape(90, 3));
            var labels = Enumerable.Range(0, 90).Select(i => (long)(i % 3)).ToArray();
            var p = pred.ToFloatArray();
            double acc = Enumerable.Range(0, 90).Count(i => Enumerable.Range(0, 3).MaxBy(c => p[i * 3 + c]) == labels[i]) / 90.0;
            acc.Should().BeApproximately(eval["accuracy"], 1e-12, "Predict and Evaluate see the same model");
        }
    }

    [Test]
    public void Resumed_run_ends_bit_identical_to_an_uninterrupted_run()
    {
        var train = Blobs(96, 7).Shuffle(11).Batch(8);
        byte[][] straight;
        var (t1, m1, o1) = Make(5);
        using (m1)
        using (o1)
        {
            t1.Fit(train, 4);
            straight = Bytes(m1);
        }

        var path = Path.Combine(_dir, "ckpt.safetensors");
        var (t2, m2, o2) = Make(5);
        using (m2)
        using (o2)
            t2.Fit(train, 2, callbacks: [new ModelCheckpoint(path)]);

        // A fresh process would start from different weights: prove they are all overwritten.
        var (t3, m3, o3) = Make(999);
        using (m3)
        using (o3)
        {
            int done = t3.Resume(path);
            done.Should().Be(2);
            t3.GlobalStep.Should().Be(2 * 12);
            o3.StepCount.Should().Be(24);
            t3.Fit(train, 4, initialEpoch: done);
            var resumed = Bytes(m3);
            resumed.Should().HaveCount(straight.Length);
            for (int i = 0; i < straight.Length; i++) resumed[i].Should().Equal(straight[i]);
        }
    }

    [Test]
    public void Callbacks_see_every_epoch_and_batch_in_order()
    {
        var (trainer, model, opt) = Make(1);
        using (model)
        using (opt)
        {
            var rec = new Recorder();
            trainer.Fit(Blobs(30, 1).Batch(10), 2, callbacks: [rec]);
            rec.Events.Should().Equal("begin", "epoch0", "batch1", "batch2", "batch3", "end0", "epoch1", "batch4", "batch5", "batch6", "end1", "finish");
        }
    }

    private sealed class Recorder : Callback
    {
        public List<string> Events { get; } = [];
        public override void OnTrainBegin(Trainer trainer) => Events.Add("begin");
        public override void OnEpochBegin(Trainer trainer, int epoch) => Events.Add($"epoch{epoch}");
        public override void OnBatchEnd(Trainer trainer, long step, IReadOnlyDictionary<string, double> logs) => Events.Add($"batch{step}");
        public override void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs) => Events.Add($"end{epoch}");
        public override void OnTrainEnd(Trainer trainer) => Events.Add("finish");
    }

    [Test]
    public void Early_stopping_stops_after_patience_and_restores_the_best_weights()
    {
        var (trainer, model, opt) = Make(1);
        using (model)
        using (opt)
        {
            var es = new EarlyStopping("val_loss", patience: 1, restoreBestWeights: true);
            es.OnTrainBegin(trainer);
            double[] losses = [1.0, 0.5, 0.6, 0.7, 0.4];
            byte[][]? best = null;
            for (int e = 0; e < losses.Length && !trainer.StopTraining; e++)
            {
                if (e == 1) best = Bytes(model);
                es.OnEpochEnd(trainer, e, new Dictionary<string, double> { ["val_loss"] = losses[e] });
                // Perturb the weights after each epoch, as training would.
                using var s = TensorScope.Begin();
                foreach (var p in model.Parameters()) p.Assign(Ops.Add(p.Value, 1.0));
            }
            trainer.StopTraining.Should().BeTrue();
            es.StoppedEpoch.Should().Be(3, "epochs 2 and 3 did not improve on 0.5 and patience is 1");
            es.Best.Should().Be(0.5);
            es.OnTrainEnd(trainer);
            var restored = Bytes(model);
            for (int i = 0; i < restored.Length; i++) restored[i].Should().Equal(best![i]);
        }
    }

    [Test]
    public void Loggers_write_csv_and_json_and_the_scheduler_sets_the_rate()
    {
        var (trainer, model, opt) = Make(1);
        using (model)
        using (opt)
        {
            var csv = Path.Combine(_dir, "h.csv");
            var json = Path.Combine(_dir, "h.json");
            trainer.Fit(Blobs(30, 1).Batch(10), 3, callbacks: [new LearningRateScheduler(new StepLr(1, 0.5)), new CsvLogger(csv), new JsonHistoryLogger(json)]);
            opt.LearningRate.Should().BeApproximately(0.01 * 0.25, 1e-15, "epoch 2 of StepLr(1, 0.5)");
            var lines = File.ReadAllLines(csv);
            lines.Should().HaveCount(4);
            lines[0].Should().Be("epoch,accuracy,epoch_seconds,loss,lr");
            lines[3].Should().StartWith("3,");
            lines[3].Split(',')[4].Should().Be("0.0025");
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
            doc.RootElement.GetProperty("history").GetArrayLength().Should().Be(3);
            doc.RootElement.GetProperty("history")[1].GetProperty("lr").GetDouble().Should().Be(0.005);
        }
    }

    [Test]
    public void Checkpoint_callback_can_keep_only_improvements()
    {
        var (trainer, model, opt) = Make(1);
        using (model)
        using (opt)
        {
            var cb = new ModelCheckpoint(Path.Combine(_dir, "e{epoch}.safetensors"), "val_loss", saveBestOnly: true);
            cb.OnEpochEnd(trainer, 0, new Dictionary<string, double> { ["val_loss"] = 1.0 });
            cb.OnEpochEnd(trainer, 1, new Dictionary<string, double> { ["val_loss"] = 2.0 });
            cb.OnEpochEnd(trainer, 2, new Dictionary<string, double> { ["val_loss"] = 0.5 });
            cb.Written.Select(Path.GetFileName).Should().Equal("e1.safetensors", "e3.safetensors");
            File.Exists(Path.Combine(_dir, "e2.safetensors")).Should().BeFalse();
        }
    }

    [Test]
    public void Uncompiled_trainer_says_what_to_do()
    {
        using var m = new TinyMlp(1);
        var t = new Trainer(m);
        var act = () => t.Fit(Blobs(3, 1).Batch(3), 1);
        act.Should().Throw<InvalidOperationException>().WithMessage("*Compile*");
    }
}

[TestFixture]
public class MetricTests
{
    [Test]
    public void Accuracy_and_top_k_match_hand_counts()
    {
        using var s = TensorScope.Begin();
        var scores = Tensor.FromArray(new float[]
        {
            0.1f, 0.7f, 0.2f,   // argmax 1
            0.5f, 0.3f, 0.2f,   // argmax 0
            0.2f, 0.3f, 0.5f,   // argmax 2
            0.4f, 0.4f, 0.2f,   // tie 0/1: argmax 0
        }, new Shape(4, 3));
        var targets = Tensor.FromArray(new long[] { 1, 2, 2, 1 });
        var acc = new Accuracy();
        acc.Update(scores, targets);
        acc.Result.Should().Be(0.5, "rows 0 and 2 are right");
        var top2 = new TopKAccuracy(2);
        top2.Update(scores, targets);
        // ranks of the target: row0 0 better, row1 2 better (miss), row2 0, row3 0 strictly better (tie) → 3/4
        top2.Result.Should().Be(0.75);
        top2.Name.Should().Be("top2_accuracy");
        acc.Update(scores, targets);
        acc.Result.Should().Be(0.5);
        acc.Reset();
        double.IsNaN(acc.Result).Should().BeTrue();
    }
}
