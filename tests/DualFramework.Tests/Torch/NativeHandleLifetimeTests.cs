using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Torch;

/// <summary>
/// Kernels that hand libtorch a value through a TorchSharp <c>Scalar</c> (or a temporary tensor) must keep that wrapper
/// alive until the native call returns: otherwise a collection during the call finalises it and libtorch reads freed
/// memory (seen as "Expected false to be true ... toDouble at c10/core/Scalar.h", "Unknown scalar type", or silently
/// wrong values). Every scalar-taking kernel runs here while another thread collects and finalises without pause, and
/// each result is checked against values computed in C#.
/// </summary>
[TestFixture]
[NonParallelizable]
public class NativeHandleLifetimeTests
{
    private static readonly IComputeBackend Torch = BackendRegistry.Get("torch");

    private const int Iterations = 3000;

    private static readonly float[] X = Enumerable.Range(0, 16).Select(i => (float)Math.Sin(i * 0.7) * 3).ToArray();
    private static readonly float[] G = Enumerable.Range(0, 16).Select(i => (float)Math.Cos(i * 0.3)).ToArray();

    /// <summary>The deterministic form of the check: no TorchSharp scalar or tensor that a kernel hands to libtorch is
    /// left for the finalizer to free (each one that is can be freed in the middle of the native call that reads it).</summary>
    [Test]
    public void Kernels_leave_no_scalar_or_tensor_to_the_finalizer()
    {
        using var counter = new FinalizationCounter(typeof(TorchSharp.Scalar), typeof(TorchSharp.torch.Tensor));
        var failures = new List<string>();
        using (BackendRegistry.Use(Torch))
        {
            using (TensorScope.Begin()) CheckIteration(X, G, 0, failures); // first calls initialise TorchSharp's statics
            counter.Start();
            for (int it = 0; it < 50; it++)
            {
                using var scope = TensorScope.Begin();
                CheckIteration(X, G, it, failures);
            }
        }
        var finalized = counter.Stop();
        failures.Should().BeEmpty();
        finalized.Should().AllSatisfy(kv => kv.Value.Should().Be(0, $"every {kv.Key.Name} a kernel creates is disposed after its native call"));
    }

    /// <summary>The same audit over every op's canonical case, forward and backward (libtorch autograd, gradients read
    /// back), and a Backward()/Grad round trip as a training step does it.</summary>
    [Test]
    public void Every_op_forward_and_backward_leaves_nothing_to_the_finalizer()
    {
        using var counter = new FinalizationCounter(typeof(TorchSharp.Scalar), typeof(TorchSharp.torch.Tensor));
        foreach (var c in OpCases.Cases.Values) RunCase(c); // first calls initialise TorchSharp's statics
        counter.Start();
        for (int rep = 0; rep < 3; rep++)
            foreach (var c in OpCases.Cases.Values) RunCase(c);
        var finalized = counter.Stop();
        finalized.Should().AllSatisfy(kv => kv.Value.Should().Be(0, $"every {kv.Key.Name} made on the way is disposed"));
    }

    private static void RunCase(OpCases.Case c)
    {
        using var scope = TensorScope.Begin();
        var xs = c.Args.Select(a => a.ToFloat32(Torch)).ToArray();
        foreach (var x in xs) x.RequiresGrad = true;
        var y = c.F(xs);
        var loss = Ops.Sum(Ops.Mul(Ops.Cast(y, DType.Float32), Ops.FullLike(Ops.Cast(y, DType.Float32), 0.5)));
        foreach (var g in Autograd.Grad([loss], xs, retainGraph: true)) g?.ToFloatArray();
        loss.Backward();
        foreach (var x in xs)
        {
            x.Grad?.ToFloatArray();
            x.Grad = null;
        }
    }

    [Test]
    public void Scalar_taking_kernels_survive_collections_during_native_calls()
    {
        var failures = new List<string>();
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        })
        { IsBackground = true };
        collector.Start();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            using (BackendRegistry.Use(Torch))
                for (int it = 0; it < Iterations && failures.Count < 10; it++)
                {
                    using var scope = TensorScope.Begin();
                    try
                    {
                        CheckIteration(X, G, it, failures);
                    }
                    catch (Exception e) when (e is not AssertionException)
                    {
                        failures.Add($"iteration {it}: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
                    }
                }
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
        TestContext.Out.WriteLine($"{Iterations} iterations in {watch.Elapsed.TotalSeconds:F1} s");
        failures.Should().BeEmpty();
    }

    private static void Expect(List<string> failures, int it, string what, double actual, double expected, double tolerance = 0)
    {
        if (!(Math.Abs(actual - expected) <= tolerance)) failures.Add($"iteration {it}: {what} = {actual}, expected {expected}");
    }

    private static void CheckIteration(float[] x, float[] g, int it, List<string> failures)
    {
        var shape = new Shape(4, 4);
        var xt = Tensor.FromArray(x, shape);

        double fill = 0.25 + it % 7;
        foreach (var v in Ops.Full(shape, fill).ToFloatArray()) Expect(failures, it, "full", v, (float)fill);
        foreach (var v in Ops.Full(shape, 5, DType.Int64).ToArray<long>()) Expect(failures, it, "full int64", v, 5);

        var clamped = Ops.Clamp(xt, -0.5, 1.5).ToFloatArray();
        var leaky = Ops.LeakyRelu(xt, 0.2).ToFloatArray();
        var soft = Ops.Softplus(xt, 2.0, 4.0).ToFloatArray();
        for (int i = 0; i < x.Length; i++)
        {
            Expect(failures, it, $"clamp[{i}]", clamped[i], Math.Clamp(x[i], -0.5f, 1.5f));
            Expect(failures, it, $"leaky_relu[{i}]", leaky[i], x[i] >= 0 ? x[i] : x[i] * 0.2f);
            // libtorch: x where beta·x > threshold, else log(1 + exp(beta·x)) / beta.
            double expected = 2.0 * x[i] > 4.0 ? x[i] : Math.Log(1 + Math.Exp(2.0 * x[i])) / 2.0;
            Expect(failures, it, $"softplus[{i}]", soft[i], expected, 1e-6 + 1e-6 * Math.Abs(expected));
        }

        var ints = Ops.Arange(3L, 20L, 2L).ToArray<long>();
        for (int i = 0; i < 9; i++) Expect(failures, it, $"arange int64[{i}]", ints[i], 3 + 2 * i);
        var reals = Ops.Arange(0.5, 2.0, 0.5).ToFloatArray();
        for (int i = 0; i < 3; i++) Expect(failures, it, $"arange float[{i}]", reals[i], 0.5 * (i + 1));

        var (dropped, mask) = Ops.DropoutWithMask(xt, 0.25, (ulong)it);
        var dv = dropped.ToFloatArray();
        var keep = mask.ToArray<bool>();
        for (int i = 0; i < x.Length; i++)
            Expect(failures, it, $"dropout[{i}]", dv[i], keep[i] ? x[i] / 0.75 : 0, 1e-6 * Math.Max(1, Math.Abs(x[i])));

        var picked = Ops.Take(Ops.Reshape(xt, 16), Tensor.FromArray(new long[] { -1, 0, -8, 3 }), 0).ToFloatArray();
        long[] at = [15, 0, 8, 3];
        for (int i = 0; i < 4; i++) Expect(failures, it, $"take[{i}]", picked[i], x[at[i]]);

        CheckAdam(x, g, it, failures);
    }

    private static void CheckAdam(float[] x, float[] g, int it, List<string> failures)
    {
        var shape = new Shape(4, 4);
        const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        long step = 1 + it % 5;
        var m0 = g.Select(v => v * 0.5f).ToArray();
        var v0 = g.Select(v => v * v * 0.25f).ToArray();
        var (p, m, v) = Ops.AdamUpdate(Tensor.FromArray(x, shape), Tensor.FromArray(g, shape), Tensor.FromArray(m0, shape),
            Tensor.FromArray(v0, shape), lr, b1, b2, eps, step);
        var (pa, ma, va) = (p.ToFloatArray(), m.ToFloatArray(), v.ToFloatArray());
        double bc1 = 1 - Math.Pow(b1, step), bc2 = 1 - Math.Pow(b2, step);
        for (int i = 0; i < x.Length; i++)
        {
            double me = b1 * m0[i] + (1 - b1) * g[i];
            double ve = b2 * v0[i] + (1 - b2) * g[i] * (double)g[i];
            double pe = x[i] - lr / bc1 * me / (Math.Sqrt(ve) / Math.Sqrt(bc2) + eps);
            // float32 arithmetic: a few ulps of each operand.
            Expect(failures, it, $"adam m[{i}]", ma[i], me, 4e-7 * (Math.Abs(me) + 1e-6));
            Expect(failures, it, $"adam v[{i}]", va[i], ve, 4e-7 * (Math.Abs(ve) + 1e-9));
            Expect(failures, it, $"adam p[{i}]", pa[i], pe, 4e-7 * (Math.Abs(x[i]) + 1) + 1e-6 * lr);
        }
    }
}
