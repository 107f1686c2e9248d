using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;


[TestFixture]
public class TakeTests
{
    // numpy.take reference: x viewed as [pre, n, post], indices flattened to k entries.
    private static double[] TakeRef(double[] x, long[] shape, long[] idx, int axis)
    {
        long pre = shape.Take(axis).Aggregate(1L, (p, d) => p * d);
        long post = shape.Skip(axis + 1).Aggregate(1L, (p, d) => p * d);
        long n = shape[axis];
        var y = new List<double>();
        for (long p = 0; p < pre; p++)
            foreach (var i in idx)
            {
                long j = i < 0 ? i + n : i;
                for (long q = 0; q < post; q++) y.Add(x[(p * n + j) * post + q]);
            }
        return y.ToArray();
    }

    private static double[] Iota(int n) => Enumerable.Range(0, n).Select(i => i * 1.5 - 3).ToArray();

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(-1)]
    public void Take_matches_numpy_semantics(int axis)
    {
        using var s = TensorScope.Begin();
        long[] shape = [3, 4, 2];
        var xd = Iota(24);
        var x = Tensor.FromArray(xd, new Shape(shape));
        int a = axis < 0 ? axis + 3 : axis;
        long n = shape[a];
        long[] idx = [n - 1, 0, -1, 1, 0, -n];
        var y = Ops.Take(x, Tensor.FromArray(idx, new Shape(2, 3)), axis);
        var expectedShape = shape.Take(a).Concat(new long[] { 2, 3 }).Concat(shape.Skip(a + 1)).ToArray();
        y.Shape.Should().Be(new Shape(expectedShape));
        y.ToDoubleArray().Should().Equal(TakeRef(xd, shape, idx, a));
    }

    [Test]
    public void Take_accepts_int32_scalar_and_empty_indices_and_any_data_dtype()
    {
        using var s = TensorScope.Begin();
        var xd = Iota(12);
        var x = Tensor.FromArray(xd, new Shape(3, 4));
        var i32 = Ops.Take(x, Tensor.FromArray(new[] { 2, 0 }), 1);
        i32.Shape.Should().Be(new Shape(3, 2));
        i32.ToDoubleArray().Should().Equal(TakeRef(xd, [3, 4], [2, 0], 1));
        var scalar = Ops.Take(x, Tensor.Scalar(1L), 0);
        scalar.Shape.Should().Be(new Shape(4));
        scalar.ToDoubleArray().Should().Equal(xd.Skip(4).Take(4));
        Ops.Take(x, Tensor.FromArray(Array.Empty<long>(), new Shape(0)), 1).Shape.Should().Be(new Shape(3, 0));
        Ops.Take(x, Tensor.FromArray(new sbyte[] { 3 }), 1).ToDoubleArray().Should().Equal(xd[3], xd[7], xd[11]);
        var ints = Tensor.FromArray(new long[] { 10, 20, 30 });
        Ops.Take(ints, Tensor.FromArray(new[] { 2L, 2, 0 })).ToArray<long>().Should().Equal(30, 30, 10);
        var bools = Tensor.FromArray(new[] { true, false });
        Ops.Take(bools, Tensor.FromArray(new[] { 1, 0, 1 })).ToArray<bool>().Should().Equal(false, true, false);
    }

    [Test]
    public void IndexSelect_and_Embedding()
    {
        using var s = TensorScope.Begin();
        var xd = Iota(12);
        var x = Tensor.FromArray(xd, new Shape(3, 4));
        var sel = Ops.IndexSelect(x, 1, Tensor.FromArray(new[] { 3L, 1 }));
        sel.Shape.Should().Be(new Shape(3, 2));
        sel.ToDoubleArray().Should().Equal(TakeRef(xd, [3, 4], [3, 1], 1));
        var emb = Ops.Embedding(x, Tensor.FromArray(new long[] { 2, 0, 2, 1 }, new Shape(2, 2)));
        emb.Shape.Should().Be(new Shape(2, 2, 4));
        emb.ToDoubleArray().Should().Equal(TakeRef(xd, [3, 4], [2, 0, 2, 1], 0));
    }

    [Test]
    public void Take_gradient_accumulates_repeated_indices()
    {
        using var s = TensorScope.Begin();
        var idx = Tensor.FromArray(new long[] { 1, 3, 1, -1, 0, 1 }, new Shape(3, 2));
        GradCheck.Check(t => Ops.Take(t[0], idx, 1), Arg.Random(1, -1, 1, 2, 4, 3));
        GradCheck.Check(t => Ops.Take(t[0], idx, 0), Arg.Random(2, -1, 1, 4));
        GradCheck.Check(t => Ops.Take(t[0], idx, -1), Arg.Random(3, -1, 1, 2, 4));
        var i32 = Tensor.FromArray(new[] { 2, 2, 0 });
        GradCheck.Check(t => Ops.Embedding(t[0], i32), Arg.Random(4, -1, 1, 3, 5));
        GradCheck.Check(t => Ops.Take(t[0], Tensor.Scalar(1L), 0), Arg.Random(5, -1, 1, 3, 2));

        // By hand: each row of the weight receives the sum of the output gradients of the positions that picked it.
        using var tape = DualFramework.Autodiff.Autograd.UseTape();
        var w = Ops.Zeros(new Shape(3, 2), DType.Float64);
        w.RequiresGrad = true;
        var g = DualFramework.Autodiff.Autograd.Grad([Ops.Sum(Ops.Embedding(w, Tensor.FromArray(new long[] { 2, 0, 2, 2 })))], [w])[0]!;
        g.ToDoubleArray().Should().Equal(1, 1, 0, 0, 3, 3);
    }

    [Test]
    public void Take_rejects_bad_arguments()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Ones(new Shape(3, 4));
        Action high = () => Ops.Take(x, Tensor.FromArray(new[] { 0L, 4 }), 1);
        high.Should().Throw<OpException>().WithMessage("*index 4 is out of range for axis 1 of size 4*");
        Action low = () => Ops.Take(x, Tensor.FromArray(new[] { -4 }), 0);
        low.Should().Throw<OpException>().WithMessage("*index -4 is out of range for axis 0 of size 3*");
        Action floats = () => Ops.Take(x, Tensor.FromArray(new[] { 0.0 }), 0);
        floats.Should().Throw<OpException>().WithMessage("*indices must be int32 or int64*");
        Action axis = () => Ops.Take(x, Tensor.FromArray(new[] { 0L }), 2);
        axis.Should().Throw<OpException>().WithMessage("*axis 2 is out of range for rank 2*");
        Action scalar = () => Ops.Take(Tensor.Scalar(1.0), Tensor.FromArray(new[] { 0L }), 0);
        scalar.Should().Throw<OpException>();
        Action sel = () => Ops.IndexSelect(x, 0, Tensor.FromArray(new[] { 0L, 1 }, new Shape(1, 2)));
        sel.Should().Throw<OpException>().WithMessage("*1-D indices*");
        Action emb = () => Ops.Embedding(Ops.Ones(new Shape(3)), Tensor.FromArray(new[] { 0L }));
        emb.Should().Throw<OpException>().WithMessage("*2-D*");
        Action empty = () => Ops.Take(Ops.Ones(new Shape(0, 2)), Tensor.FromArray(new[] { 0L }), 0);
        empty.Should().Throw<OpException>().WithMessage("*out of range*");
    }
}
