using DualFramework.Backends;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Samples.FashionMnist;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Reliability;

/// <summary>
/// The CI form of the long-run check (docs/reliability.md, "Long runs"; scripts/long-run.sh runs 10,000 steps): a few
/// hundred training steps of the sample's MLP and CNN, eager on torch and compiled on graph, a fresh batch tensor every step
/// as <c>Fit</c> makes (the compiled step on torch is left to the script: it is too slow for CI).
/// </summary>
/// <remarks>
/// Error model: a leak of u bytes per step grows resident memory by n·u over n steps, in every window alike; allocator
/// noise (arenas growing once, pages returned late) does not grow with n. The smallest leak that matters is one input
/// batch per step (the tensor every step creates: 64×784 float32 = 196 KiB); the bound is half of that per step of the
/// measured window, so such a leak fails the test by a factor of 2 while noise up to that size passes, on any machine.
/// The managed heap (after a full collection) must not grow by more than 1 KiB per step: one leaked object per step
/// (a closure, a small array) shows up, lazy one-time initialisations stay below it.
/// </remarks>
[TestFixture]
[NonParallelizable] // resident memory belongs to the process
[Category("Reliability")]
public class LongRunMemoryTests
{
    private const int Batch = 64, Warmup = 100, Window = 150;

    [TestCase("mlp", "torch", false)]
    [TestCase("mlp", "graph", true)]
    [TestCase("cnn", "torch", false)]
    [TestCase("cnn", "graph", true)]
    public void Training_steps_after_warm_up_keep_resident_memory_and_the_managed_heap_flat(string model, string backend, bool compiled)
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("reads /proc/self/status");
        using var use = BackendRegistry.Use(BackendRegistry.Get(backend));
        using var scope = TensorScope.Begin();
        using var net = Models.Create(model, new SeededRandom(0));
        using var opt = new Adam(net.Parameters(), 1e-3);
        using var trainer = new Trainer(net) { CompileSteps = compiled };
        trainer.Compile(opt, new CrossEntropyLoss());
        var rng = new SeededRandom(1);
        var batches = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, Batch * 784).Select(_ => (float)rng.NextDouble()).ToArray()).ToArray();
        var labels = Enumerable.Range(0, Batch).Select(i => (long)(i % 10)).ToArray();
        void Steps(int n)
        {
            for (int i = 0; i < n; i++)
            {
                using var step = TensorScope.Begin();
                trainer.TrainStep(Tensor.FromArray(batches[i % 4], new Shape(Batch, 1, 28, 28)), Tensor.FromArray(labels, new Shape(Batch)));
            }
        }

        Steps(Warmup);
        long heap0 = ManagedHeap(), rss0 = ProcessMemory.ResidentBytes();
        Steps(Window);
        long heap1 = ManagedHeap(), rss1 = ProcessMemory.ResidentBytes();

        long bound = Window * (Batch * 784 * sizeof(float)) / 2;
        TestContext.Out.WriteLine($"{model} {backend} compiled={compiled}: RSS {rss0 >> 10} -> {rss1 >> 10} KiB ({(rss1 - rss0) >> 10:+0;-0} KiB, bound {bound >> 10} KiB); managed heap {heap0 >> 10} -> {heap1 >> 10} KiB");
        (rss1 - rss0).Should().BeLessThan(bound, $"resident memory over {Window} steps after a {Warmup}-step warm-up");
        (heap1 - heap0).Should().BeLessThan(Window * 1024L, "the managed heap after a full collection");
        trainer.GlobalStep.Should().Be(Warmup + Window);
    }

    private static long ManagedHeap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
