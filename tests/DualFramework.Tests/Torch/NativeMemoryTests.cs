using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Torch;

/// <summary>Native memory must stay flat in long loops when each iteration runs inside a <see cref="TensorScope"/>.</summary>
[TestFixture]
public class NativeMemoryTests
{
    private static void Step(Tensor w, Tensor x)
    {
        using var s = TensorScope.Begin();
        var y = Ops.Tanh(Ops.Add(Ops.Mul(x, w), 0.5));
        var loss = Ops.Mean(Ops.Mul(y, y));
        loss.Backward();
        w.Grad = null;
        _ = Ops.Sum(Ops.Sigmoid(Ops.Sub(x, w))).Item();
    }

    [Test]
    public void Ten_thousand_scoped_iterations_do_not_grow_native_memory()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("reads /proc/self/status");
        using var outer = TensorScope.Begin();
        var w = Ops.Full(new Shape(64, 64), 0.1);
        w.RequiresGrad = true;
        var x = Ops.Full(new Shape(64, 64), 0.3);
        for (int i = 0; i < 1000; i++) Step(w, x); // warm up allocator caches
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = ProcessMemory.ResidentBytes();
        for (int i = 0; i < 10_000; i++) Step(w, x);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long growth = ProcessMemory.ResidentBytes() - before;
        // Each iteration allocates ~10 tensors of 16 KiB; leaking them would add > 1.5 GB.
        growth.Should().BeLessThan(32L * 1024 * 1024, $"RSS grew by {growth / 1024} KiB over 10k iterations");
    }
}
