using DualFramework.IR;
using DualFramework.IR.Passes;
using DualFramework.Operators;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.IR;

using static IRTestSupport;

/// <summary>The graph backend's move of ReLU's gradient mask from a max pool's input to its output.</summary>
[TestFixture]
public class MaskBeforeMaxUnpoolTests
{
    private static readonly long[] XShape = [2, 3, 6, 8];

    /// <summary>where(r &gt; t, max_unpool2d(g, idx), zero) with (y, idx) = max_pool2d(pooled): the gradient of ReLU behind a
    /// 2×2 max pool, as symbolic autodiff writes it.</summary>
    private static Graph ReluPoolGradient(bool zeroFromFull, double threshold = 0, bool poolOther = false, bool zeroElse = true)
    {
        var g = new Graph();
        var r = g.AddInput(new TensorSpec(new Shape(XShape), DType.Float32), "r");
        var other = g.AddInput(new TensorSpec(new Shape(XShape), DType.Float32), "other");
        var gy = g.AddInput(new TensorSpec(new Shape(2, 3, 3, 4), DType.Float32), "gy");
        var pool = g.AddNode(OpSet.MaxPool2d, new MaxPool2dAttrs([2, 2], [2, 2], [0, 0], [1, 1], false), [poolOther ? other : r]);
        var unpooled = g.AddNode(OpSet.MaxUnpool2d, new MaxUnpool2dAttrs(6, 8), [gy, pool[1]])[0];
        var t = g.AddConstant(new TensorSpec(Shape.Scalar, DType.Float32), BitConverter.GetBytes((float)threshold));
        var mask = g.AddNode(OpSet.Greater, OpAttrs.None, [r, t])[0];
        var fill = zeroElse ? 0.0 : 1.0;
        var otherwise = zeroFromFull
            ? g.AddNode(OpSet.Full, new FullAttrs(XShape, fill, DType.Float32), [])[0]
            : Const(g, Enumerable.Repeat((float)fill, 2 * 3 * 6 * 8).ToArray(), XShape);
        g.AddOutput(g.AddNode(OpSet.Where, OpAttrs.None, [mask, unpooled, otherwise])[0]);
        g.AddOutput(pool[0]);
        return g;
    }

    // Values from {−1, 0, 1, 2}: ties in most windows, windows whose maximum is 0 or negative, a NaN.
    private static Tensor[] Inputs()
    {
        var rng = new Random(3);
        var r = Enumerable.Range(0, 2 * 3 * 6 * 8).Select(_ => (float)rng.Next(-1, 3)).ToArray();
        r[17] = float.NaN;
        var gy = Enumerable.Range(0, 2 * 3 * 3 * 4).Select(i => (float)(i % 7 - 3)).ToArray();
        return [Tensor.FromArray(r, new Shape(XShape), TorchB), Tensor.FromArray(r, new Shape(XShape), TorchB), Tensor.FromArray(gy, new Shape(2, 3, 3, 4), TorchB)];
    }

    [TestCase(false, 0.0)]
    [TestCase(true, 0.0)]
    [TestCase(false, 1.0)]
    public void Masking_the_pooled_gradient_gives_the_same_values(bool zeroFromFull, double threshold)
    {
        var g = ReluPoolGradient(zeroFromFull, threshold);
        var rewritten = g.Clone();
        new MaskBeforeMaxUnpool().Run(rewritten).Should().BeTrue();
        rewritten.Verify();
        // The mask now has the pooled shape, and the unpooling comes last.
        rewritten.Nodes.Single(n => ReferenceEquals(n.Op, OpSet.Where)).Outputs[0].Spec.Shape.Should().Be(new Shape(2, 3, 3, 4));
        rewritten.Outputs[0].Producer!.Op.Should().BeSameAs(OpSet.MaxUnpool2d);
        using var s = TensorScope.Begin();
        var inputs = Inputs();
        var expected = Interpret(g, inputs);
        var actual = Interpret(rewritten, inputs);
        actual[0].Should().Equal(expected[0], "the rewrite is exact, NaN windows and ties included");
        expected[0].Count(v => v != 0).Should().BeGreaterThan(10, "the case routes real gradients");
    }

    [Test]
    public void Other_patterns_are_left_alone()
    {
        new MaskBeforeMaxUnpool().Run(ReluPoolGradient(false, poolOther: true)).Should().BeFalse("the mask is of another tensor than the pooled one");
        new MaskBeforeMaxUnpool().Run(ReluPoolGradient(false, zeroElse: false)).Should().BeFalse("the else operand is not zero");
        new MaskBeforeMaxUnpool().Run(ReluPoolGradient(true, zeroElse: false)).Should().BeFalse("the else operand is a full of 1");
    }
}
