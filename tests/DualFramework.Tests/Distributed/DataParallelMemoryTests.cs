using DualFramework.Backends;
using DualFramework.Distributed;
using DualFramework.DistributedWorker;
using DualFramework.Losses;
using DualFramework.Optim;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Distributed;

/// <summary>Long data-parallel loops (all-reduced gradients replacing the local ones every step) keep native memory flat.</summary>
[TestFixture]
[NonParallelizable]
public class DataParallelMemoryTests
{
    [TestCase("torch")]
    [TestCase("graph")]
    public void ThousandsOfSteps_DoNotGrowResidentMemory(string backendName)
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("reads /proc/self/status");
        // The warm-up lets allocator caches and GC budgets settle; the graph backend's steps are slower, so it runs fewer.
        int warm = backendName == "graph" ? 600 : 1500, steps = backendName == "graph" ? 1500 : 4000;
        long before = 0, after = 0;
        InProcessGroup.Run(2, c =>
        {
            var backend = BackendRegistry.Get(backendName);
            var spec = new TrainSpec { Backend = backendName, GlobalBatch = 8 };
            var (x, y) = Scenarios.Data(spec with { Steps = 1 });
            using var m = Scenarios.Model(spec, 1, backend, hidden: 256);
            using var opt = new Adam(m.Parameters(), 1e-3);
            var trainer = new Trainer(m, new DataParallel(c));
            trainer.Compile(opt, new CrossEntropyLoss());
            using var scope = TensorScope.Begin();
            var shard = DualFramework.Distributed.ShardedBatches.Shard(new DualFramework.Data.Batch(x, new Shape(8, Scenarios.Features), y), c.Rank, 2, pad: true)!;
            var (bx, by) = shard.ToTensors(backend);
            for (int i = 0; i < warm; i++) trainer.TrainStep(bx, by);
            c.Barrier();
            if (c.Rank == 0)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                before = ProcessMemory.ResidentBytes();
            }
            c.Barrier();
            for (int i = 0; i < steps; i++) trainer.TrainStep(bx, by);
            c.Barrier();
            if (c.Rank == 0)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                after = ProcessMemory.ResidentBytes();
            }
            c.Barrier();
        }, TimeSpan.FromMinutes(5));
        // 4,356 parameters (17 KB): leaking one gradient set per step would add steps × 2 replicas × 17 KB ≥ 50 MB.
        (after - before).Should().BeLessThan(6L << 20, $"RSS grew from {before >> 20} MB to {after >> 20} MB over {steps} steps");
    }
}
