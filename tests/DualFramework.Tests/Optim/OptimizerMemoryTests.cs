using System.Diagnostics;
using DualFramework.Autodiff;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Optim;


/// <summary>Long training loops (forward, backward, clipping, optimizer step) must keep native memory flat.</summary>
[TestFixture]
public class OptimizerMemoryTests
{
    private static double TrainStep(Optimizer opt, Variable w, Variable b, Tensor x, Tensor y, bool clip)
    {
        using var s = TensorScope.Begin();
        opt.ZeroGrad();
        var pred = Ops.Add(Ops.MatMul(x, w.Value), b.Value);
        var loss = LossFunctions.Mse(pred, y);
        loss.Backward();
        if (clip) GradClip.ClipByGlobalNorm(opt.Parameters, 0.5);
        opt.Step();
        return loss.Item();
    }

    private static void Run(Func<Variable[], Optimizer> make, bool tape, int steps)
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("reads /proc/self/status");
        using var mode = tape ? Autograd.UseTape() : null;
        using var outer = TensorScope.Begin();
        using var w = new Variable(Ops.RandomUniform(new Shape(8, 4), 1, -0.3, 0.3).DetachFromScope(), true, "w");
        using var b = new Variable(Ops.Zeros(new Shape(4)).DetachFromScope(), true, "b");
        using var opt = make([w, b]);
        var x = Ops.RandomNormal(new Shape(16, 8), 2);
        using var target = new Variable(Ops.RandomNormal(new Shape(8, 4), 3).DetachFromScope(), false, "true_w");
        var y = Ops.MatMul(x, target.Value);
        double first = 0;
        for (int i = 0; i < 500; i++) // warm up allocator caches
        {
            double l = TrainStep(opt, w, b, x, y, i % 2 == 0);
            if (i == 0) first = l;
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = ProcessMemory.ResidentBytes();
        double last = 0;
        for (int i = 0; i < steps; i++) last = TrainStep(opt, w, b, x, y, i % 2 == 0);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long growth = ProcessMemory.ResidentBytes() - before;
        last.Should().BeLessThan(first * 0.05, "the model learns the linear map");
        // Each step allocates dozens of small tensors plus 3 state buffers per parameter; a leak of any of them per
        // step would add well over 32 MB.
        growth.Should().BeLessThan(32L * 1024 * 1024, $"RSS grew by {growth / 1024} KiB over {steps} steps");
        opt.StepCount.Should().Be(500 + steps);
    }

    [Test]
    public void Ten_thousand_adam_steps_keep_native_memory_flat()
    {
        var sw = Stopwatch.StartNew();
        Run(ps => new Adam(ps, 1e-2, amsgrad: true, weightDecay: 1e-4), tape: false, 10_000);
        TestContext.Out.WriteLine($"10k Adam steps: {sw.ElapsedMilliseconds} ms");
    }

    [Test]
    public void Tape_training_with_clipping_keeps_native_memory_flat()
    {
        var sw = Stopwatch.StartNew();
        Run(ps => new RmsProp(ps, 1e-2, momentum: 0.5, centered: true), tape: true, 10_000);
        TestContext.Out.WriteLine($"10k tape RmsProp steps: {sw.ElapsedMilliseconds} ms");
    }
}
