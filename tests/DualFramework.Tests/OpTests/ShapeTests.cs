using DualFramework.Autodiff;
using DualFramework.Operators;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;


[TestFixture]
public class ShapeTests
{
    private static readonly double[] Iota6 = [0, 1, 2, 3, 4, 5];

    [Test]
    public void Reshape_infers_minus_one_and_keeps_row_major_order()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(Iota6, new Shape(2, 3));
        var y = Ops.Reshape(x, 3, -1);
        y.Shape.Should().Be(new Shape(3, 2));
        y.ToDoubleArray().Should().Equal(Iota6);
        GradCheck.Check(t => Ops.Reshape(t[0], -1, 2), Arg.Random(1, -1, 1, 2, 3));
    }

    [Test]
    public void Permute_moves_axes()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(Iota6, new Shape(1, 2, 3));
        var y = Ops.Permute(x, 2, 0, 1);
        y.Shape.Should().Be(new Shape(3, 1, 2));
        // y[k, 0, i] = x[0, i, k] = 3i + k
        y.ToDoubleArray().Should().Equal(0, 3, 1, 4, 2, 5);
        Ops.Transpose(Tensor.FromArray(Iota6, new Shape(2, 3))).ToDoubleArray().Should().Equal(0, 3, 1, 4, 2, 5);
        GradCheck.Check(t => Ops.Permute(t[0], 2, 0, 1), Arg.Random(2, -1, 1, 2, 3, 4));
    }

    [Test]
    public void Slice_with_steps_negative_bounds_and_clamping()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(Enumerable.Range(0, 10).Select(i => (double)i).ToArray(), new Shape(10));
        Ops.Slice(x, 0, 1, 8, 3).ToDoubleArray().Should().Equal(1, 4, 7);
        Ops.Slice(x, 0, -3).ToDoubleArray().Should().Equal(7, 8, 9);
        Ops.Slice(x, 0, 5, 100).ToDoubleArray().Should().Equal(5, 6, 7, 8, 9);
        Ops.Slice(x, 0, 6, 2).NumElements.Should().Be(0);
        var m = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => (double)i).ToArray(), new Shape(3, 4));
        Ops.Slice(m, [0, 1], [0, 1], [3, 4], [2, 2]).ToDoubleArray().Should().Equal(1, 3, 9, 11);
        GradCheck.Check(t => Ops.Slice(t[0], [0, 1], [0, 1], [3, 4], [2, 2]), Arg.Random(3, -1, 1, 3, 4));
    }

    [Test]
    public void SliceScatter_writes_region_and_differentiates_both_operands()
    {
        using var s = TensorScope.Begin();
        var b = Ops.Zeros(new Shape(5), DType.Float64);
        var src = Tensor.FromArray(new[] { 1.0, 2.0 });
        var a = new DualFramework.Operators.SliceAttrs([0], [1], [5], [2]);
        Ops.SliceScatter(b, src, a).ToDoubleArray().Should().Equal(0, 1, 0, 2, 0);
        GradCheck.Check(t => Ops.SliceScatter(t[0], t[1], a), Arg.Random(4, -1, 1, 5), Arg.Random(5, -1, 1, 2));
    }

    [Test]
    public void BroadcastTo_and_its_gradient_sums_back()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(new[] { 1.0, 2.0 }, new Shape(2, 1));
        Ops.BroadcastTo(x, new Shape(3, 2, 2)).ToDoubleArray().Should().Equal(1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2);
        GradCheck.Check(t => Ops.BroadcastTo(t[0], new Shape(3, 2, 2)), Arg.Random(6, -1, 1, 2, 1));
    }

    private static double[] Iota(int n, double offset = 0) => Enumerable.Range(0, n).Select(i => i + offset).ToArray();

    [Test]
    public void Reshape_transpose_permute_slice_errors()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Zeros(new Shape(2, 3));
        FluentActions.Invoking(() => Ops.Reshape(x, 4, 2)).Should().Throw<OpException>().WithMessage("reshape*8 elements*6*");
        FluentActions.Invoking(() => Ops.Reshape(x, -1, -1)).Should().Throw<OpException>().WithMessage("reshape*more than one -1*");
        FluentActions.Invoking(() => Ops.Reshape(x, 4, -1)).Should().Throw<OpException>().WithMessage("reshape*cannot infer -1*");
        FluentActions.Invoking(() => Ops.Reshape(x, -2, 3)).Should().Throw<OpException>().WithMessage("reshape*negative*");
        FluentActions.Invoking(() => Ops.Permute(x, 0, 0)).Should().Throw<OpException>().WithMessage("permute*not a permutation*");
        FluentActions.Invoking(() => Ops.Permute(x, 0)).Should().Throw<OpException>().WithMessage("permute*1 entries for rank 2*");
        FluentActions.Invoking(() => Ops.Transpose(x, 0, 2)).Should().Throw<OpException>().WithMessage("permute*out of range*");
        FluentActions.Invoking(() => Ops.Slice(x, 2, 0, 1)).Should().Throw<OpException>().WithMessage("slice*axis 2*");
        FluentActions.Invoking(() => Ops.Slice(x, 0, 0, 1, 0)).Should().Throw<OpException>().WithMessage("slice*step 0*");
        FluentActions.Invoking(() => Ops.BroadcastTo(x, new Shape(3, 3))).Should().Throw<OpException>().WithMessage("broadcast_to*cannot broadcast*");
        var a = new SliceAttrs([1], [0], [2], [1]);
        FluentActions.Invoking(() => Ops.SliceScatter(x, Ops.Zeros(new Shape(2, 3)), a)).Should().Throw<OpException>().WithMessage("slice_scatter*does not match*");
        FluentActions.Invoking(() => Ops.SliceScatter(x, Ops.Zeros(new Shape(2, 2), DType.Float64), a)).Should().Throw<OpException>().WithMessage("slice_scatter*dtypes differ*");
        FluentActions.Invoking(() => Ops.Slice(x, new SliceAttrs([0], [1], [3], [1]))).Should().Throw<OpException>().WithMessage("slice*invalid for size 2*");
    }

    [Test]
    public void Transpose_of_rank_3_and_reshape_of_views()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(Iota(24), new Shape(2, 3, 4));
        var t = Ops.Transpose(x, 0, 2);
        t.Shape.Should().Be(new Shape(4, 3, 2));
        var expected = new double[24];
        for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 4; k++) expected[(k * 3 + j) * 2 + i] = (i * 3 + j) * 4 + k;
        t.ToDoubleArray().Should().Equal(expected);
        // Reshaping a non-contiguous (transposed) result still follows logical row-major order.
        Ops.Reshape(t, -1).ToDoubleArray().Should().Equal(expected);
        GradCheck.Check(v => Ops.Reshape(Ops.Transpose(v[0], 0, 2), 6, 4), Arg.Random(20, -1, 1, 2, 3, 4));
    }

    // ---- concat ----

    [Test]
    public void Concat_joins_along_an_axis()
    {
        using var s = TensorScope.Begin();
        var a = Tensor.FromArray(Iota(4), new Shape(2, 2));
        var b = Tensor.FromArray(Iota(2, 10), new Shape(2, 1));
        var c = Tensor.FromArray(Iota(6, 20), new Shape(2, 3));
        var y = Ops.Concat([a, b, c], 1);
        y.Shape.Should().Be(new Shape(2, 6));
        y.ToDoubleArray().Should().Equal(0, 1, 10, 20, 21, 22, 2, 3, 11, 23, 24, 25);
        var z = Ops.Concat([a, Tensor.FromArray(Iota(2, 10), new Shape(1, 2))], -2);
        z.Shape.Should().Be(new Shape(3, 2));
        z.ToDoubleArray().Should().Equal(0, 1, 2, 3, 10, 11);
        // An empty operand contributes nothing.
        Ops.Concat([a, Ops.Zeros(new Shape(2, 0), DType.Float64)], 1).ToDoubleArray().Should().Equal(0, 1, 2, 3);
        Ops.Concat([a], 0).Should().BeSameAs(a);
    }

    [Test]
    public void Concat_promotes_dtypes()
    {
        using var s = TensorScope.Begin();
        var i = Tensor.FromArray(new[] { 1, 2 }, new Shape(2));
        var f = Tensor.FromArray(new[] { 0.5f }, new Shape(1));
        var y = Ops.Concat([i, f]);
        y.DType.Should().Be(DType.Float32);
        y.ToDoubleArray().Should().Equal(1, 2, 0.5);
        var u8 = Tensor.FromArray(new byte[] { 200 }, new Shape(1));
        var i8 = Tensor.FromArray(new sbyte[] { -5 }, new Shape(1));
        var m = Ops.Concat([u8, i8]);
        m.DType.Should().Be(DType.Int32);
        m.ToArray<int>().Should().Equal(200, -5);
    }

    [Test]
    public void Concat_gradient_is_slices()
    {
        GradCheck.Check(t => Ops.Concat([t[0], t[1], t[2]], 1), Arg.Random(21, -1, 1, 2, 2, 3), Arg.Random(22, -1, 1, 2, 1, 3), Arg.Random(23, -1, 1, 2, 3, 3));
        GradCheck.Check(t => Ops.Concat([t[0], t[1]], -1), Arg.Random(24, -1, 1, 3, 1), Arg.Random(25, -1, 1, 3, 2));
        // The same tensor twice: both slices accumulate into it.
        GradCheck.Check(t => Ops.Concat([t[0], Ops.Mul(t[0], t[0])], 0), Arg.Random(26, -1, 1, 2, 2));
    }

    [Test]
    public void Concat_errors()
    {
        using var s = TensorScope.Begin();
        var a = Ops.Zeros(new Shape(2, 3));
        FluentActions.Invoking(() => Ops.Concat([])).Should().Throw<OpException>().WithMessage("concat*at least one*");
        FluentActions.Invoking(() => Ops.Concat([a, Ops.Zeros(new Shape(3, 3))], 1)).Should().Throw<OpException>().WithMessage("concat*operand 1 has size 3 on axis 0*");
        FluentActions.Invoking(() => Ops.Concat([a, Ops.Zeros(new Shape(2, 3, 1))])).Should().Throw<OpException>().WithMessage("concat*rank 3*");
        FluentActions.Invoking(() => Ops.Concat([a, a], 2)).Should().Throw<OpException>().WithMessage("concat*axis 2 is out of range*");
        FluentActions.Invoking(() => Ops.Concat([Tensor.Scalar(1f), Tensor.Scalar(2f)])).Should().Throw<OpException>().WithMessage("concat*rank-0*");
        FluentActions.Invoking(() => Dispatcher.Apply(OpSet.Concat, new ConcatAttrs(0), a, Ops.Zeros(new Shape(2, 3), DType.Float64)))
            .Should().Throw<OpException>().WithMessage("concat*dtype float64*");
        FluentActions.Invoking(() => Dispatcher.Apply(OpSet.Concat, new ConcatAttrs(-1), a)).Should().Throw<OpException>().WithMessage("concat*axis -1*");
    }

    // ---- split ----

    [Test]
    public void Split_by_sizes_and_by_parts()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(Iota(12), new Shape(3, 4));
        var p = Ops.Split(x, [1, 0, 3], 1);
        p.Should().HaveCount(3);
        p[0].Shape.Should().Be(new Shape(3, 1));
        p[0].ToDoubleArray().Should().Equal(0, 4, 8);
        p[1].Shape.Should().Be(new Shape(3, 0));
        p[2].ToDoubleArray().Should().Equal(1, 2, 3, 5, 6, 7, 9, 10, 11);
        var rows = Ops.Split(x, 3);
        foreach (var r in rows) r.Shape.Should().Be(new Shape(1, 4));
        rows[2].ToDoubleArray().Should().Equal(8, 9, 10, 11);
        var halves = Ops.Split(x, 2, -1);
        halves[1].ToDoubleArray().Should().Equal(2, 3, 6, 7, 10, 11);
        var whole = Ops.Split(x, 1, 0);
        whole.Should().HaveCount(1);
        whole[0].ToDoubleArray().Should().Equal(Iota(12));
        var ints = Ops.Split(Tensor.FromArray(new[] { 5, 6, 7 }, new Shape(3)), [2, 1]);
        ints[1].DType.Should().Be(DType.Int32);
        ints[1].ToArray<int>().Should().Equal(7);
    }

    [Test]
    public void Split_gradient_concatenates_output_gradients_with_zeros_for_unused_pieces()
    {
        // All pieces used, in a different order and non-linearly.
        GradCheck.Check(t =>
        {
            var p = Ops.Split(t[0], [1, 2, 1], 1);
            return Ops.Concat([p[2], Ops.Mul(p[1], p[1]), p[0]], 1);
        }, Arg.Random(30, -1, 1, 2, 4));
        // Only the middle piece used: the others get zero gradient.
        GradCheck.Check(t => Ops.Split(t[0], [1, 2, 1], 1)[1], Arg.Random(31, -1, 1, 2, 4));
        GradCheck.Check(t => Ops.Split(t[0], 3, 0)[2], Arg.Random(32, -1, 1, 3, 2));
        GradCheck.Check(t => Ops.Split(t[0], [3], 0)[0], Arg.Random(33, -1, 1, 3));

        using var s = TensorScope.Begin();
        using var tape = Autograd.UseTape();
        var x = Tensor.FromArray(Iota(4), new Shape(4));
        x.RequiresGrad = true;
        var pieces = Ops.Split(x, [1, 3]);
        var g = Autograd.Grad([Ops.Sum(Ops.Mul(pieces[1], 2.0))], [x])[0]!;
        g.ToDoubleArray().Should().Equal(0, 2, 2, 2);
    }

    [Test]
    public void Split_errors()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Zeros(new Shape(3, 4));
        FluentActions.Invoking(() => Ops.Split(x, [1, 1], 0)).Should().Throw<OpException>().WithMessage("split*sum to 2*size 3*");
        FluentActions.Invoking(() => Ops.Split(x, [5, -1], 1)).Should().Throw<OpException>().WithMessage("split*negative*");
        FluentActions.Invoking(() => Ops.Split(x, Array.Empty<long>(), 1)).Should().Throw<OpException>().WithMessage("split*at least one*");
        FluentActions.Invoking(() => Ops.Split(x, 2, 0)).Should().Throw<OpException>().WithMessage("split*cannot be split into 2*");
        FluentActions.Invoking(() => Ops.Split(x, 0, 1)).Should().Throw<OpException>().WithMessage("split*must be positive*");
        FluentActions.Invoking(() => Ops.Split(x, [4], 2)).Should().Throw<OpException>().WithMessage("split*axis 2 is out of range*");
        FluentActions.Invoking(() => Ops.Split(Tensor.Scalar(1f), 1, 0)).Should().Throw<OpException>().WithMessage("split*out of range*");
        FluentActions.Invoking(() => Dispatcher.ApplyMulti(OpSet.Split, new SplitAttrs(0, [1]), Tensor.Scalar(1f)))
            .Should().Throw<OpException>().WithMessage("split*rank-0*");
    }

    // ---- squeeze / unsqueeze / flatten / expand ----

    [Test]
    public void Squeeze_and_unsqueeze()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(Iota(6), new Shape(1, 2, 1, 3, 1));
        Ops.Squeeze(x).Shape.Should().Be(new Shape(2, 3));
        Ops.Squeeze(x, [0, -1]).Shape.Should().Be(new Shape(2, 1, 3));
        Ops.Squeeze(x, 2).Shape.Should().Be(new Shape(1, 2, 3, 1));
        Ops.Squeeze(x, Array.Empty<int>()).Shape.Should().Be(x.Shape);
        Ops.Squeeze(x).ToDoubleArray().Should().Equal(Iota(6));
        Ops.Squeeze(Tensor.FromArray(new[] { 4.0 }, new Shape(1, 1))).Shape.Should().Be(Shape.Scalar);
        var v = Tensor.FromArray(Iota(6), new Shape(2, 3));
        Ops.Unsqueeze(v, 0).Shape.Should().Be(new Shape(1, 2, 3));
        Ops.Unsqueeze(v, 1).Shape.Should().Be(new Shape(2, 1, 3));
        Ops.Unsqueeze(v, 2).Shape.Should().Be(new Shape(2, 3, 1));
        Ops.Unsqueeze(v, -1).Shape.Should().Be(new Shape(2, 3, 1));
        Ops.Unsqueeze(v, -3).Shape.Should().Be(new Shape(1, 2, 3));
        Ops.Unsqueeze(Tensor.Scalar(2.0), 0).Shape.Should().Be(new Shape(1));
        Ops.Unsqueeze(v, 1).ToDoubleArray().Should().Equal(Iota(6));
        GradCheck.Check(t => Ops.Unsqueeze(Ops.Squeeze(t[0]), -2), Arg.Random(40, -1, 1, 1, 3, 1));

        FluentActions.Invoking(() => Ops.Squeeze(x, 1)).Should().Throw<OpException>().WithMessage("squeeze*axis 1 has size 2*");
        FluentActions.Invoking(() => Ops.Squeeze(x, 5)).Should().Throw<OpException>().WithMessage("squeeze*axis 5 is out of range*");
        FluentActions.Invoking(() => Ops.Squeeze(x, [0, -5])).Should().Throw<OpException>().WithMessage("squeeze*repeated*");
        FluentActions.Invoking(() => Ops.Unsqueeze(v, 3)).Should().Throw<OpException>().WithMessage("unsqueeze*axis 3*");
        FluentActions.Invoking(() => Ops.Unsqueeze(v, -4)).Should().Throw<OpException>().WithMessage("unsqueeze*axis -4*");
    }

    [Test]
    public void Flatten_merges_a_range_of_axes()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(Iota(24), new Shape(2, 3, 2, 2));
        Ops.Flatten(x).Shape.Should().Be(new Shape(2, 12));
        Ops.Flatten(x, 0).Shape.Should().Be(new Shape(24));
        Ops.Flatten(x, 1, 2).Shape.Should().Be(new Shape(2, 6, 2));
        Ops.Flatten(x, -2, -2).Shape.Should().Be(x.Shape);
        Ops.Flatten(x, 1, 2).ToDoubleArray().Should().Equal(Iota(24));
        Ops.Flatten(Tensor.Scalar(3.0), 0).Shape.Should().Be(new Shape(1));
        Ops.Flatten(Ops.Zeros(new Shape(2, 0, 3))).Shape.Should().Be(new Shape(2, 0));
        GradCheck.Check(t => Ops.Flatten(t[0]), Arg.Random(41, -1, 1, 2, 2, 3));

        FluentActions.Invoking(() => Ops.Flatten(x, 2, 1)).Should().Throw<OpException>().WithMessage("flatten*start axis 2 comes after end axis 1*");
        FluentActions.Invoking(() => Ops.Flatten(x, 4)).Should().Throw<OpException>().WithMessage("flatten*out of range*");
        FluentActions.Invoking(() => Ops.Flatten(Tensor.FromArray(Iota(3)))).Should().Throw<OpException>().WithMessage("flatten*out of range for rank 1*");
        FluentActions.Invoking(() => Ops.Flatten(Tensor.Scalar(3.0))).Should().Throw<OpException>().WithMessage("flatten*rank-0*");
    }

    [Test]
    public void Expand_keeps_minus_one_dims()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(new[] { 1.0, 2.0 }, new Shape(2, 1));
        var y = Ops.Expand(x, 3, -1, 2);
        y.Shape.Should().Be(new Shape(3, 2, 2));
        y.ToDoubleArray().Should().Equal(1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2);
        Ops.Expand(x, -1, -1).Should().BeSameAs(x);
        Ops.Expand(x, 2, 4).Shape.Should().Be(new Shape(2, 4));
        GradCheck.Check(t => Ops.Expand(t[0], 2, -1, 3), Arg.Random(42, -1, 1, 4, 1));

        FluentActions.Invoking(() => Ops.Expand(x, -1, 2, 2)).Should().Throw<OpException>().WithMessage("broadcast_to*-1 at new leading axis 0*");
        FluentActions.Invoking(() => Ops.Expand(x, 2)).Should().Throw<OpException>().WithMessage("broadcast_to*fewer dimensions*");
        FluentActions.Invoking(() => Ops.Expand(x, 3, 2)).Should().Throw<OpException>().WithMessage("broadcast_to*cannot broadcast*");
        FluentActions.Invoking(() => Ops.Expand(x, 2, -3)).Should().Throw<OpException>().WithMessage("broadcast_to*negative*");
    }
}
