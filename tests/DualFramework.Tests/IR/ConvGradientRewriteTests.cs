using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.IR.Passes;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Operators;
using DualFramework.Optim;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.IR;

using static IRTestSupport;

/// <summary>The graph backend's rewrite of small-output convolutions (weight gradients) into matrix products.</summary>
[TestFixture]
public class ConvGradientRewriteTests
{
    // x [b, c, h, h] and w [o, c, k, k] with the given stride / padding / dilation; each case has a 3×3 output plane.
    [TestCase(8, 3, 8, 4, 8, 1, 1, 1, false)]
    [TestCase(8, 2, 12, 3, 9, 2, 1, 1, true)]
    [TestCase(9, 2, 13, 3, 6, 1, 0, 2, false)]
    public void Rewritten_convolution_equals_the_convolution(int b, int c, int h, int o, int k, int stride, int pad, int dil, bool bias)
    {
        var g = new Graph();
        var x = g.AddInput(new TensorSpec(new Shape(b, c, h, h), DType.Float32), "x");
        var w = g.AddInput(new TensorSpec(new Shape(o, c, k, k), DType.Float32), "w");
        Value[] ins = bias ? [x, w, g.AddInput(new TensorSpec(new Shape(o), DType.Float32), "b")] : [x, w];
        g.AddOutput(g.AddNode(OpSet.Conv, new ConvAttrs([stride, stride], [pad, pad], [dil, dil], 1), ins)[0]);
        g.Outputs[0].Spec.Shape.Should().Be(new Shape(b, o, 3, 3));
        var rewritten = g.Clone();
        new SmallOutputConvToMatMul().Run(rewritten).Should().BeTrue();
        rewritten.Verify();
        rewritten.Nodes.Should().NotContain(n => ReferenceEquals(n.Op, OpSet.Conv));
        using var s = TensorScope.Begin();
        Tensor[] args = bias ? [T(1, b, c, h, h), T(2, o, c, k, k), T(3, o)] : [T(1, b, c, h, h), T(2, o, c, k, k)];
        ShouldMatch(Interpret(rewritten, args), Interpret(g, args), 1e-5);
    }

    [Test]
    public void Small_batches_large_outputs_and_groups_are_left_alone()
    {
        static bool Rewrites(long b, long h, long k, long groups)
        {
            var g = new Graph();
            var x = g.AddInput(new TensorSpec(new Shape(b, 4, h, h), DType.Float32), "x");
            var w = g.AddInput(new TensorSpec(new Shape(4, 4 / groups, k, k), DType.Float32), "w");
            g.AddOutput(g.AddNode(OpSet.Conv, new ConvAttrs([1, 1], [0, 0], [1, 1], groups), [x, w])[0]);
            return new SmallOutputConvToMatMul().Run(g);
        }
        Rewrites(8, 10, 8, 1).Should().BeTrue("3×3 output, 8×8 kernel, batch 8");
        Rewrites(4, 10, 8, 1).Should().BeFalse("batch below 8");
        Rewrites(8, 10, 3, 1).Should().BeFalse("8×8 output from a 3×3 kernel: an ordinary convolution");
        Rewrites(8, 10, 8, 2).Should().BeFalse("grouped");
    }

    /// <summary>The compiled step (with the rewrite) trains like eager torch. SGD rather than Adam, and a bound from the
    /// fp32 error model of docs/parity.md: a step's sums (K ≈ 1,700 terms along the longest path here) may differ by
    /// 2·γ_K relative to their scale on each backend, and SGD carries earlier differences forward about unchanged.</summary>
    [Test]
    public void Compiled_cnn_train_steps_match_eager_torch_training()
    {
        var graph = BackendRegistry.Get("graph");
        var torch = BackendRegistry.Get("torch");
        Sequential Cnn(IComputeBackend backend)
        {
            using (BackendRegistry.Use(backend))
            {
                var rng = new SeededRandom(11);
                // The second convolution has 8 input channels: its weight gradient is rewritten (3×3 output, 8×8 kernel).
                return new Sequential(new Conv2d(1, 8, 3, padding: 1, rng: rng), new ReLU(), new Conv2d(8, 8, 3, padding: 1, rng: rng),
                    new ReLU(), new Flatten(), new Linear(8 * 8 * 8, 3, rng: rng));
            }
        }
        // Forward fan-ins 9 + 72 + 512 and the softmax, backward fan-outs 3 + 512 + 72, weight gradients over 8 × 64 positions.
        const int k = (9 + 72 + 512 + 3) + (3 + 512 + 72) + 8 * 64;
        double gamma = Fp32ErrorModel.Gamma(k), worst = 0;
        using var s = TensorScope.Begin();
        using var gm = Cnn(graph);
        using var tm = Cnn(torch);
        using var go = new Sgd(gm.Parameters(), 0.05);
        using var to = new Sgd(tm.Parameters(), 0.05);
        using var step = new CompiledFunction(a =>
        {
            go.ZeroGrad();
            var loss = LossFunctions.CrossEntropy(gm.Call(a[0]), a[1]);
            loss.Backward();
            go.Step();
            return [loss];
        }, gm.NamedVariables().Values, model: gm);
        var labels = Enumerable.Range(0, 8).Select(i => (long)(i % 3)).ToArray();
        const int steps = 6;
        for (int i = 0; i < steps; i++)
        {
            using var it = TensorScope.Begin();
            var xs = Rand(50 + i, 8 * 64);
            double lg = step.CallReusingResults(Tensor.FromArray(xs, new Shape(8, 1, 8, 8), graph), Tensor.FromArray(labels, new Shape(8), graph))[0].Item();
            to.ZeroGrad();
            var logits = tm.Call(Tensor.FromArray(xs, new Shape(8, 1, 8, 8), torch));
            var lt = LossFunctions.CrossEntropy(logits, Tensor.FromArray(labels, new Shape(8), torch));
            lt.Backward();
            to.Step();
            // Cross-entropy's rounding scales with the logits (logsumexp(z) − z_y), not with the loss.
            double scale = Math.Abs(lt.Item()) + logits.ToFloatArray().Max(v => Math.Abs((double)v));
            worst = Math.Max(worst, Math.Abs(lg - lt.Item()) / (gamma * (i + 1) * scale));
            Math.Abs(lg - lt.Item()).Should().BeLessThanOrEqualTo(2 * gamma * (i + 1) * scale, $"loss at step {i}: {lg} vs {lt.Item()}");
        }
        TestContext.Out.WriteLine($"largest loss difference {worst:F4} (s+1)·γ_K·scale (bound 2)");
        var eager = tm.StateDict();
        foreach (var (name, t) in gm.StateDict())
        {
            float[] a = t.ToFloatArray(), b = eager[name].ToFloatArray();
            double diff = Fp32ErrorModel.Distance(a, b), norm = Fp32ErrorModel.Norm(b);
            diff.Should().BeLessThanOrEqualTo(2 * gamma * steps * norm, $"{name} after {steps} steps");
        }
    }
}
