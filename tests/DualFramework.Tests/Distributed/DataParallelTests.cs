using DualFramework.Data;
using DualFramework.Distributed;
using DualFramework.DistributedWorker;
using DualFramework.NN;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Distributed;

/// <summary>Data-parallel training with in-process replicas against one process training on the whole batch.</summary>
[TestFixture]
public class DataParallelTests
{
    /// <summary>|a − b| ≤ rtol·|b| + atol element-wise, with the worst element in the failure message.</summary>
    internal static void ShouldMatch(Dictionary<string, float[]> actual, Dictionary<string, float[]> expected, double rtol, double atol, string what)
    {
        actual.Keys.Should().BeEquivalentTo(expected.Keys);
        foreach (var (name, e) in expected)
        {
            var a = actual[name];
            a.Length.Should().Be(e.Length);
            for (int i = 0; i < e.Length; i++)
                if (!(Math.Abs(a[i] - e[i]) <= rtol * Math.Abs(e[i]) + atol))
                    Assert.Fail($"{what}: {name}[{i}] is {a[i]:R}, expected {e[i]:R} (|diff| {Math.Abs(a[i] - e[i]):E2})");
        }
    }

    private static Dictionary<string, float[]>[] TrainReplicas(TrainSpec spec, int replicas, DataParallelOptions? options = null) =>
        InProcessGroup.Run(replicas, c => Scenarios.Train(spec, new DataParallel(c, options)), TimeSpan.FromMinutes(2));

    [TestCase("torch", false)]
    [TestCase("torch", true)]
    [TestCase("graph", false)]
    public void TwoReplicasWithHalfBatches_EndWhereOneProcessWithTheWholeBatchEnds(string backend, bool handLoop)
    {
        var spec = new TrainSpec { Backend = backend, HandLoop = handLoop, Steps = 50, GlobalBatch = 16 };
        var single = Scenarios.Train(spec, null);
        var replicas = TrainReplicas(spec, 2);
        // Replicas start from different random weights (seed + rank): rank 0's broadcast must make them agree.
        foreach (var r in replicas) ShouldMatch(r, single, 1e-5, 1e-7, $"{backend} replica vs single process");
        replicas[1].Should().BeEquivalentTo(replicas[0], o => o.WithStrictOrdering(), "replicas apply identical updates");
    }

    [Test]
    public void SmallBuckets_GiveTheSameResultAsOneBucket()
    {
        var spec = new TrainSpec { Steps = 10, GlobalBatch = 8 };
        var one = TrainReplicas(spec, 2);
        var many = TrainReplicas(spec, 2, new DataParallelOptions { BucketSizeBytes = 100 });
        many[0].Should().BeEquivalentTo(one[0], o => o.WithStrictOrdering());
    }

    [Test]
    public void DifferentModelsOnTheRanks_FailAtStartNamingTheVariable()
    {
        var spec = new TrainSpec { Steps = 2, GlobalBatch = 4, MismatchRank = 1 };
        var act = () => TrainReplicas(spec, 2);
        act.Should().Throw<CommunicatorException>().WithInnerException<InvalidOperationException>()
            .WithMessage("*different models*0.weight*float32[16, 12]*float32[17, 12]*");
    }

    [Test]
    public void AReplicaFailingMidTraining_StopsTheOthers()
    {
        var spec = new TrainSpec { Steps = 20, GlobalBatch = 4, FailRank = 1, FailAtStep = 5 };
        var act = () => TrainReplicas(spec, 2);
        act.Should().Throw<CommunicatorException>().WithMessage("*replica 1*injected failure on rank 1 at step 5*");
    }

    [Test]
    public void BatchNorm_RunningMeanMatchesTheWholeBatch_AndRunningVarIsTheMeanOfShardVariances()
    {
        // BatchNorm normalises with each replica's own batch statistics (as DDP); the running buffers are averaged over
        // replicas after every step. BatchNorm1d is the first layer, so its input is the raw data and one step can be
        // checked by hand: running = 0.9·initial + 0.1·(average over shards of the shard statistic).
        var spec = new TrainSpec { Steps = 1, GlobalBatch = 8, BatchNorm = true };
        var (x, _) = Scenarios.Data(spec);
        var replicas = TrainReplicas(spec, 2);
        int f = Scenarios.Features;
        for (int j = 0; j < f; j++)
        {
            double meanAll = 0, varAvg = 0;
            for (int shard = 0; shard < 2; shard++)
            {
                double m = 0, v = 0;
                for (int e = shard * 4; e < shard * 4 + 4; e++) m += x[e * f + j];
                m /= 4;
                for (int e = shard * 4; e < shard * 4 + 4; e++) v += (x[e * f + j] - m) * (x[e * f + j] - m);
                meanAll += m / 2;
                varAvg += v / 3 / 2; // unbiased, as running_var uses
            }
            replicas[0]["0.running_mean"][j].Should().BeApproximately((float)(0.1 * meanAll), 1e-6f);
            replicas[0]["0.running_var"][j].Should().BeApproximately((float)(0.9 + 0.1 * varAvg), 1e-5f);
        }
        replicas[1]["0.running_mean"].Should().Equal(replicas[0]["0.running_mean"]);
        replicas[1]["0.running_var"].Should().Equal(replicas[0]["0.running_var"]);
    }

    [Test]
    public void Evaluate_OnShards_ReportsTheWholeDatasetOnEveryRank()
    {
        var spec = new TrainSpec { Steps = 6, GlobalBatch = 10 };
        var (x, y) = Scenarios.Data(spec);
        // 60 examples in batches of 7: uneven shards (4 + 3) and a last batch of 4.
        var data = Dataset.FromArrays(x, [Scenarios.Features], y).Batch(7);
        (double Loss, double Accuracy) Eval(DistributionStrategy? s)
        {
            using var model = Scenarios.Model(spec, 3);
            var trainer = new Trainer(model, s);
            using var opt = new DualFramework.Optim.Sgd(model.Parameters(), 0.1);
            trainer.Compile(opt, new DualFramework.Losses.CrossEntropyLoss(), [new Accuracy()]);
            var r = trainer.Evaluate(data);
            return (r["loss"], r["accuracy"]);
        }
        var single = Eval(null);
        var ranks = InProcessGroup.Run(2, c => Eval(new DataParallel(c)));
        foreach (var r in ranks)
        {
            r.Accuracy.Should().Be(single.Accuracy);
            r.Loss.Should().BeApproximately(single.Loss, 1e-6);
        }
    }

    [Test]
    public void OnlyRankZero_WritesCheckpointsAndLogs()
    {
        var dir = Path.Combine(Path.GetTempPath(), "df-dp-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var spec = new TrainSpec { Steps = 2, GlobalBatch = 4 };
            var (x, y) = Scenarios.Data(spec);
            var data = Dataset.FromArrays(x, [Scenarios.Features], y).Batch(4);
            InProcessGroup.Run(2, c =>
            {
                using var model = Scenarios.Model(spec, 1);
                using var opt = new DualFramework.Optim.Sgd(model.Parameters(), 0.1);
                var trainer = new Trainer(model, new DataParallel(c));
                trainer.Compile(opt, new DualFramework.Losses.CrossEntropyLoss());
                trainer.IsRoot.Should().Be(c.Rank == 0);
                trainer.Fit(data, 1, callbacks: [new CsvLogger(Path.Combine(dir, $"log{c.Rank}.csv")), new ModelCheckpoint(Path.Combine(dir, $"ckpt{c.Rank}.safetensors"))]);
                trainer.SaveCheckpoint(Path.Combine(dir, $"manual{c.Rank}.safetensors"), 1);
            });
            Directory.GetFiles(dir).Select(Path.GetFileName).Should().BeEquivalentTo("log0.csv", "ckpt0.safetensors", "manual0.safetensors");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
