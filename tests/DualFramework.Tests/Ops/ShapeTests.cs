using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;

using O = DualFramework.Ops;

[TestFixture]
public class ShapeTests
{
    private static readonly double[] Iota6 = [0, 1, 2, 3, 4, 5];

    [Test]
    public void Reshape_infers_minus_one_and_keeps_row_major_order()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(Iota6, new Shape(2, 3));
        var y = O.Reshape(x, 3, -1);
        y.Shape.Should().Be(new Shape(3, 2));
        y.ToDoubleArray().Should().Equal(Iota6);
        GradCheck.Check(t => O.Reshape(t[0], -1, 2), Arg.Random(1, -1, 1, 2, 3));
    }

    [Test]
    public void Permute_moves_axes()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(Iota6, new Shape(1, 2, 3));
        var y = O.Permute(x, 2, 0, 1);
        y.Shape.Should().Be(new Shape(3, 1, 2));
        // y[k, 0, i] = x[0, i, k] = 3i + k
        y.ToDoubleArray().Should().Equal(0, 3, 1, 4, 2, 5);
        O.Transpose(Tensor.FromArray(Iota6, new Shape(2, 3))).ToDoubleArray().Should().Equal(0, 3, 1, 4, 2, 5);
        GradCheck.Check(t => O.Permute(t[0], 2, 0, 1), Arg.Random(2, -1, 1, 2, 3, 4));
    }

    [Test]
    public void Slice_with_steps_negative_bounds_and_clamping()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(Enumerable.Range(0, 10).Select(i => (double)i).ToArray(), new Shape(10));
        O.Slice(x, 0, 1, 8, 3).ToDoubleArray().Should().Equal(1, 4, 7);
        O.Slice(x, 0, -3).ToDoubleArray().Should().Equal(7, 8, 9);
        O.Slice(x, 0, 5, 100).ToDoubleArray().Should().Equal(5, 6, 7, 8, 9);
        O.Slice(x, 0, 6, 2).NumElements.Should().Be(0);
        var m = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => (double)i).ToArray(), new Shape(3, 4));
        O.Slice(m, [0, 1], [0, 1], [3, 4], [2, 2]).ToDoubleArray().Should().Equal(1, 3, 9, 11);
        GradCheck.Check(t => O.Slice(t[0], [0, 1], [0, 1], [3, 4], [2, 2]), Arg.Random(3, -1, 1, 3, 4));
    }

    [Test]
    public void SliceScatter_writes_region_and_differentiates_both_operands()
    {
        using var s = TensorScope.Begin();
        var b = O.Zeros(new Shape(5), DType.Float64);
        var src = Tensor.FromArray(new[] { 1.0, 2.0 });
        var a = new DualFramework.Operators.SliceAttrs([0], [1], [5], [2]);
        O.SliceScatter(b, src, a).ToDoubleArray().Should().Equal(0, 1, 0, 2, 0);
        GradCheck.Check(t => O.SliceScatter(t[0], t[1], a), Arg.Random(4, -1, 1, 5), Arg.Random(5, -1, 1, 2));
    }

    [Test]
    public void BroadcastTo_and_its_gradient_sums_back()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(new[] { 1.0, 2.0 }, new Shape(2, 1));
        O.BroadcastTo(x, new Shape(3, 2, 2)).ToDoubleArray().Should().Equal(1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2);
        GradCheck.Check(t => O.BroadcastTo(t[0], new Shape(3, 2, 2)), Arg.Random(6, -1, 1, 2, 1));
    }
}
