using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.IR;


/// <summary>
/// Steady-state compiled steps on the graph backend run without managed allocation (arguments copied into bound buffers,
/// host scalars written in place, results reused) and keep native memory flat. Allocation is counted, not timed.
/// </summary>
[TestFixture]
public class CompiledStepAllocationTests
{
    private static IComputeBackend Graph => BackendRegistry.Get("graph");

    private static Tensor Batch(int seed, IComputeBackend b) =>
        Tensor.FromArray(IRTestSupport.Rand(seed, 16 * 12), new Shape(16, 12), b);

    private static Tensor Labels(int seed, IComputeBackend b) =>
        Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (long)((i + seed) % 5)).ToArray(), new Shape(16), b);

    private static Sequential Mlp(IComputeBackend b, int inputs = 12, bool dropout = false)
    {
        using (BackendRegistry.Use(b))
        {
            var rng = new SeededRandom(7);
            var net = new Sequential(new Linear(inputs, 32, rng: rng), new ReLU());
            if (dropout) net.Append(new Dropout(0.2, rng));
            return net.Append(new Linear(32, 5, rng: rng));
        }
    }

    // Managed bytes allocated on this thread per call, over `calls` calls after `warmup` calls.
    private static double BytesPerCall(Action call, int warmup = 200, int calls = 1000)
    {
        for (int i = 0; i < warmup; i++) call();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < calls; i++) call();
        return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)calls;
    }

    private static CompiledFunction TrainStepFunction(Sequential model, Optimizer opt) => new(a =>
    {
        opt.ZeroGrad();
        var logits = model.Call(a[0]);
        var loss = LossFunctions.CrossEntropy(logits, a[1]);
        loss.Backward();
        opt.Step();
        return [loss, logits.Detach()];
    }, model.NamedVariables().Values, model: model, name: "train_step");

    [Test]
    public void A_steady_state_compiled_train_step_allocates_no_managed_memory()
    {
        using var s = TensorScope.Begin();
        using var model = Mlp(Graph);
        using var opt = new Adam(model.Parameters(), 1e-2);
        using var f = TrainStepFunction(model, opt);
        var x = Batch(1, Graph);
        var y = Labels(1, Graph);
        double loss = 0;
        double perCall = BytesPerCall(() => loss = f.CallReusingResults(x, y)[0].Item());
        perCall.Should().Be(0, "a steady-state step binds everything once and reuses its result tensors");
        f.TraceCount.Should().Be(1, "the first trace creates Adam's moments, and its graph serves the steps after it");
        opt.StepCount.Should().Be(1200, "the optimizer's host-side counters advance on every run");
        loss.Should().BeLessThan(1.0, "1,200 Adam steps on one batch fit it");
    }

    [Test]
    public void A_symbolic_batch_step_binds_each_size_once_and_is_allocation_free_at_a_steady_size()
    {
        using var s = TensorScope.Begin();
        using var model = Mlp(Graph);
        using var opt = new Adam(model.Parameters(), 1e-2);
        var trainer = new Trainer(model);
        trainer.Compile(opt, new CrossEntropyLoss());
        var (x, y) = (Batch(2, Graph), Labels(2, Graph));
        using var xs = Ops.Slice(x, 0, 0, 9);
        using var ys = Ops.Slice(y, 0, 0, 9);
        // Epochs whose last batch is partial: the step alternates between two shapes, each bound once.
        for (int epoch = 0; epoch < 5; epoch++)
        {
            for (int k = 0; k < 3; k++) trainer.TrainStep(x, y);
            trainer.TrainStep(xs, ys);
        }
        double perStep = BytesPerCall(() => trainer.TrainStep(x, y));
        perStep.Should().Be(0);
        trainer.CompiledTrainStep!.TraceCount.Should().Be(1);
        trainer.CompiledTrainStep.LastGraph!.IsSymbolic.Should().BeTrue();
    }

    [TestCase(false)]
    [TestCase(true)]
    public void A_steady_state_trainer_step_allocates_no_managed_memory(bool dropout)
    {
        using var s = TensorScope.Begin();
        using var model = Mlp(Graph, dropout: dropout);
        using var opt = new Adam(model.Parameters(), 1e-2);
        var trainer = new Trainer(model);
        trainer.Compile(opt, new CrossEntropyLoss());
        var x = Batch(2, Graph);
        var y = Labels(2, Graph);
        double perStep = BytesPerCall(() => trainer.TrainStep(x, y));
        perStep.Should().Be(0);
        trainer.CompiledTrainStep!.TraceCount.Should().Be(1);
        trainer.GlobalStep.Should().Be(1200);
    }

    [Test]
    public void Reused_results_are_overwritten_by_the_next_call_and_Call_returns_copies()
    {
        using var s = TensorScope.Begin();
        using var f = new CompiledFunction(a => [Ops.Mul(a[0], 2.0)]);
        var x1 = Tensor.FromArray(new float[] { 1, 2, 3 }, new Shape(3), Graph);
        var x2 = Tensor.FromArray(new float[] { -1, 0, 5 }, new Shape(3), Graph);
        var r1 = f.CallReusingResults(x1)[0];
        r1.ToArray<float>().Should().Equal(2, 4, 6);
        var r2 = f.CallReusingResults(x2)[0];
        r2.Should().BeSameAs(r1, "the function owns and reuses its result tensors");
        r1.ToArray<float>().Should().Equal(-2, 0, 10);
        // A previous result may be passed back in: arguments are copied before the step runs.
        f.CallReusingResults(r1)[0].ToArray<float>().Should().Equal(-4, 0, 20);
        var c1 = f.Call(x1)[0];
        var c2 = f.Call(x2)[0];
        c1.Should().NotBeSameAs(c2);
        c1.ToArray<float>().Should().Equal(2, 4, 6);
        c2.ToArray<float>().Should().Equal(-2, 0, 10);
        f.TraceCount.Should().Be(1);
    }

    [Test]
    public void On_other_backends_reused_results_live_until_the_next_call()
    {
        using var s = TensorScope.Begin();
        var torch = BackendRegistry.Get("torch");
        using var f = new CompiledFunction(a => [Ops.Mul(a[0], 2.0), a[0]]);
        var x1 = Tensor.FromArray(new float[] { 1, 2 }, new Shape(2), torch);
        var x2 = Tensor.FromArray(new float[] { 3, 4 }, new Shape(2), torch);
        var r1 = f.CallReusingResults(x1).ToArray();
        r1[0].ToArray<float>().Should().Equal(2, 4);
        r1[1].Should().BeSameAs(x1, "an argument returned as is stays the caller's");
        var r2 = f.CallReusingResults(x2).ToArray();
        r1[0].IsDisposed.Should().BeTrue("the previous call's results are freed by the next call");
        x1.IsDisposed.Should().BeFalse();
        r2[0].ToArray<float>().Should().Equal(6, 8);
    }

    [Test]
    public void A_disposed_reused_result_is_replaced_on_the_next_call()
    {
        using var s = TensorScope.Begin();
        using var f = new CompiledFunction(a => [Ops.Add(a[0], 1.0)]);
        var x = Tensor.FromArray(new float[] { 1, 2 }, new Shape(2), Graph);
        f.CallReusingResults(x)[0].Dispose();
        f.CallReusingResults(x)[0].ToArray<float>().Should().Equal(2, 3);
    }

    [Test]
    public void Compiled_step_results_match_the_eager_torch_step()
    {
        using var s = TensorScope.Begin();
        using var gm = Mlp(Graph);
        using var tm = Mlp(BackendRegistry.Get("torch"));
        using var go = new Adam(gm.Parameters(), 1e-2);
        using var to = new Adam(tm.Parameters(), 1e-2);
        using var f = TrainStepFunction(gm, go);
        for (int i = 0; i < 5; i++)
        {
            using var it = TensorScope.Begin();
            var outs = f.CallReusingResults(Batch(10 + i, Graph), Labels(i, Graph));
            to.ZeroGrad();
            var logits = tm.Call(Batch(10 + i, BackendRegistry.Get("torch")));
            var loss = LossFunctions.CrossEntropy(logits, Labels(i, BackendRegistry.Get("torch")));
            loss.Backward();
            to.Step();
            outs[0].Item().Should().BeApproximately(loss.Item(), 1e-5, $"loss at step {i}");
            IRTestSupport.ShouldMatch([outs[1].ToFloatArray()], [logits.ToFloatArray()], 1e-5);
        }
        var eager = tm.StateDict();
        foreach (var (name, t) in gm.StateDict()) IRTestSupport.ShouldMatch([t.ToFloatArray()], [eager[name].ToFloatArray()], 1e-4);
    }

    [Test]
    public void Ten_thousand_compiled_steps_keep_native_memory_flat()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("reads /proc/self/status");
        using var s = TensorScope.Begin();
        using var model = Mlp(Graph, 256);
        using var opt = new Adam(model.Parameters(), 1e-3);
        var trainer = new Trainer(model);
        trainer.Compile(opt, new CrossEntropyLoss());
        var data = Enumerable.Range(0, 7).Select(k => IRTestSupport.Rand(k, 64 * 256)).ToArray();
        var labels = Enumerable.Range(0, 64).Select(i => (long)(i % 5)).ToArray();
        // A fresh 64 KB batch tensor every step, as Fit makes them.
        void Step(int i)
        {
            using var it = TensorScope.Begin();
            trainer.TrainStep(Tensor.FromArray(data[i % 7], new Shape(64, 256), Graph), Tensor.FromArray(labels, new Shape(64), Graph));
        }
        for (int i = 0; i < 500; i++) Step(i);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = ProcessMemory.ResidentBytes();
        for (int i = 0; i < 10_000; i++) Step(i);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long growth = ProcessMemory.ResidentBytes() - before;
        // Leaking one batch buffer (64 KB), one weight buffer (32 KB) or one result (1.3 KB) per step would add over 13 MB.
        growth.Should().BeLessThan(12L * 1024 * 1024, $"RSS grew by {growth / 1024} KiB over 10,000 steps");
        trainer.GlobalStep.Should().Be(10_500);
    }

}
