using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;


[TestFixture]
public class ScatterTests
{
    private static long Offset(long[] coord, long[] shape)
    {
        long o = 0;
        for (int i = 0; i < shape.Length; i++) o = o * shape[i] + coord[i];
        return o;
    }

    private static long[] Coord(long flat, long[] shape)
    {
        var c = new long[shape.Length];
        for (int i = shape.Length - 1; i >= 0; i--) { c[i] = flat % shape[i]; flat /= shape[i]; }
        return c;
    }

    private static double[] NaiveScatterAdd(double[] b, long[] bs, long[] idx, long[] idxShape, double[] src, long[] srcShape, int axis)
    {
        var r = (double[])b.Clone();
        for (long f = 0; f < idx.Length; f++)
        {
            var c = Coord(f, idxShape);
            double v = src[Offset(c, srcShape)];
            c[axis] = idx[f];
            r[Offset(c, bs)] += v;
        }
        return r;
    }

    private static double[] NaiveGather(double[] x, long[] xs, long[] idx, long[] idxShape, int axis)
    {
        var r = new double[idx.Length];
        for (long f = 0; f < idx.Length; f++)
        {
            var c = Coord(f, idxShape);
            c[axis] = idx[f];
            r[f] = x[Offset(c, xs)];
        }
        return r;
    }

    private static long[] RandomIndex(int seed, long max, long count)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, (int)count).Select(_ => (long)rng.Next((int)max)).ToArray();
    }

    [Test]
    public void GatherElements_hand_examples()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(new[] { 1.0, 2, 3, 4 }, new Shape(2, 2));
        var i1 = Tensor.FromArray(new long[] { 0, 0, 1, 0 }, new Shape(2, 2));
        Ops.GatherElements(x, i1, 1).ToDoubleArray().Should().Equal(1, 1, 4, 3);
        Ops.GatherElements(x, i1, -1).ToDoubleArray().Should().Equal(1, 1, 4, 3);
        // The index may be longer than x along the axis and shorter elsewhere.
        var i0 = Tensor.FromArray(new long[] { 1, 0, 0 }, new Shape(3, 1));
        var y = Ops.GatherElements(x, i0, 0);
        y.Shape.Should().Be(new Shape(3, 1));
        y.ToDoubleArray().Should().Equal(3, 1, 1);
        // int32 indices are widened.
        var i32 = Tensor.FromArray(new[] { 1, 1, 0, 0 }, new Shape(2, 2));
        Ops.GatherElements(x, i32, 1).ToDoubleArray().Should().Equal(2, 2, 3, 3);
    }

    [Test]
    public void GatherElements_matches_loops_in_3d()
    {
        using var s = TensorScope.Begin();
        var x = Arg.Random(1, -1, 1, 3, 4, 5);
        long[] idxShape = [2, 6, 3];
        var idx = RandomIndex(2, 4, 36);
        var y = Ops.GatherElements(x.ToTensor(), Tensor.FromArray(idx, new Shape(idxShape)), 1);
        y.Shape.Should().Be(new Shape(idxShape));
        y.ToDoubleArray().Should().Equal(NaiveGather(x.Data, x.Shape, idx, idxShape, 1));
    }

    [Test]
    public void ScatterAdd_accumulates_duplicates()
    {
        using var s = TensorScope.Begin();
        var b = Tensor.FromArray(new[] { 10.0, 20, 30 });
        var idx = Tensor.FromArray(new long[] { 0, 2, 0, 0 });
        var src = Tensor.FromArray(new[] { 1.0, 2, 3, 4 });
        Ops.ScatterAdd(b, idx, src, 0).ToDoubleArray().Should().Equal(18, 20, 32);
        b.ToDoubleArray().Should().Equal(10, 20, 30); // out of place
    }

    [Test]
    public void ScatterAdd_matches_loops_with_a_larger_source()
    {
        using var s = TensorScope.Begin();
        var b = Arg.Random(3, -1, 1, 3, 4, 5);
        var src = Arg.Random(4, -1, 1, 3, 6, 5);
        long[] idxShape = [2, 6, 4];
        var idx = RandomIndex(5, 4, 48);
        var y = Ops.ScatterAdd(b.ToTensor(), Tensor.FromArray(idx, new Shape(idxShape)), src.ToTensor(), 1);
        y.Shape.Should().Be(new Shape(3, 4, 5));
        GradCheck.AssertClose(y.ToDoubleArray(), NaiveScatterAdd(b.Data, b.Shape, idx, idxShape, src.Data, src.Shape, 1), 1e-12, 1e-12, "scatter_add");
    }

    [Test]
    public void ScatterAdd_promotes_and_keeps_integer_dtypes()
    {
        using var s = TensorScope.Begin();
        var b = Tensor.FromArray(new long[] { 1, 2 });
        var idx = Tensor.FromArray(new long[] { 1, 1 });
        var y = Ops.ScatterAdd(b, idx, Tensor.FromArray(new long[] { 5, 6 }), 0);
        y.DType.Should().Be(DType.Int64);
        y.ToArray<long>().Should().Equal(1, 13);
        var f = Ops.ScatterAdd(b, idx, Tensor.FromArray(new[] { 0.5, 0.25 }), 0);
        f.DType.Should().Be(DType.Float64);
        f.ToDoubleArray().Should().Equal(1, 2.75);
    }

    [Test]
    public void GatherElements_gradient_scatters_back_with_duplicates()
    {
        using var s = TensorScope.Begin();
        long[] idx = [0, 2, 2, 1, 0, 0, 3, 3, 3];
        GradCheck.Check(t => Ops.GatherElements(t[0], Tensor.FromArray(idx, new Shape(3, 3)), 1), Arg.Random(6, -1, 1, 3, 4));
        long[] idx0 = RandomIndex(7, 3, 2 * 2 * 4);
        GradCheck.Check(t => Ops.GatherElements(t[0], Tensor.FromArray(idx0, new Shape(2, 2, 4)), 0), Arg.Random(8, -1, 1, 3, 3, 4));
    }

    [Test]
    public void ScatterAdd_gradient_for_base_and_source()
    {
        using var s = TensorScope.Begin();
        long[] idx = RandomIndex(9, 4, 3 * 5);
        GradCheck.Check(t => Ops.ScatterAdd(t[0], Tensor.FromArray(idx, new Shape(3, 5)), t[1], 1), Arg.Random(10, -1, 1, 3, 4), Arg.Random(11, -1, 1, 3, 5));
        long[] idx2 = RandomIndex(12, 2, 2 * 3);
        GradCheck.Check(t => Ops.ScatterAdd(t[0], Tensor.FromArray(idx2, new Shape(2, 3)), t[1], 0), Arg.Random(13, -1, 1, 2, 3), Arg.Random(14, -1, 1, 2, 3));
    }

    [Test]
    public void ScatterAdd_source_gradient_is_zero_outside_the_index()
    {
        // libtorch autograd rejects a source larger than the index, so check the rule on the tape by hand.
        using var s = TensorScope.Begin();
        using var tape = DualFramework.Autodiff.Autograd.UseTape();
        var b = Ops.Zeros(new Shape(2, 3), DType.Float64);
        var src = Tensor.FromArray(new[] { 1.0, 2, 3, 4, 5, 6, 7, 8 }, new Shape(2, 4));
        src.RequiresGrad = true;
        b.RequiresGrad = true;
        var idx = Tensor.FromArray(new long[] { 2, 0, 1, 1 }, new Shape(2, 2));
        var y = Ops.ScatterAdd(b, idx, src, 1);
        var weights = Tensor.FromArray(new[] { 1.0, 2, 3, 4, 5, 6 }, new Shape(2, 3));
        var g = DualFramework.Autodiff.Autograd.Grad([Ops.Sum(Ops.Mul(y, weights))], [b, src]);
        g[0]!.ToDoubleArray().Should().Equal(1, 2, 3, 4, 5, 6);
        // src[i, j] (j < 2) lands at column idx[i, j], so its gradient is that column's weight.
        g[1]!.ToDoubleArray().Should().Equal(3, 1, 0, 0, 5, 5, 0, 0);
    }

    private static void Throws(Func<Tensor> f, string pattern)
    {
        using var s = TensorScope.Begin();
        f.Should().Throw<OpException>().WithMessage(pattern);
    }

    [Test]
    public void Invalid_arguments_are_rejected()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Zeros(new Shape(2, 3));
        var idx = Tensor.FromArray(new long[] { 0, 1, 2, 0 }, new Shape(2, 2));
        Throws(() => Ops.GatherElements(x, Ops.Zeros(new Shape(2, 2)), 1), "*index must be int64*");
        Throws(() => Ops.GatherElements(x, Tensor.FromArray(new long[] { 0, 1 }), 1), "*index rank 1 differs from operand rank 2*");
        Throws(() => Ops.GatherElements(x, Tensor.FromArray(new long[] { 0, 0, 0 }, new Shape(3, 1)), 1), "*index size 3 exceeds operand size 2 along axis 0*");
        Throws(() => Ops.GatherElements(x, idx, 2), "*axis 2 is out of range*");
        Throws(() => Ops.GatherElements(x, Tensor.FromArray(new long[] { 0, 3, 1, 0 }, new Shape(2, 2)), 1), "*index values must lie in ?0, 3)*");
        Throws(() => Ops.GatherElements(x, Tensor.FromArray(new long[] { 0, -1, 1, 0 }, new Shape(2, 2)), 1), "*index values*?-1, 1]*");
        Throws(() => Ops.ScatterAdd(x, idx, Ops.Zeros(new Shape(2, 1)), 1), "*index size 2 exceeds source size 1 along axis 1*");
        Throws(() => Ops.ScatterAdd(Ops.Zeros(new Shape(1, 3)), idx, Ops.Zeros(new Shape(2, 2)), 1), "*index size 2 exceeds base size 1 along axis 0*");
        Throws(() => Ops.ScatterAdd(x, idx, Ops.Zeros(new Shape(2, 2, 1)), 1), "*one rank*");
        Throws(() => Ops.ScatterAdd(x, Tensor.FromArray(new long[] { 0, 3, 1, 0 }, new Shape(2, 2)), Ops.Zeros(new Shape(2, 2)), 1), "*index values must lie in ?0, 3)*");
        var bools = Ops.Cast(x, DType.Bool);
        Throws(() => Ops.ScatterAdd(bools, idx, Ops.Cast(Ops.Zeros(new Shape(2, 2)), DType.Bool), 1), "*bool*");
    }
}
