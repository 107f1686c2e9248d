using DualFramework.Operators;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;


[TestFixture]
public class OneHotTests
{
    private static double[] Reference(long[] indices, long depth)
    {
        var r = new double[indices.Length * depth];
        for (int i = 0; i < indices.Length; i++) r[i * depth + indices[i]] = 1;
        return r;
    }

    [Test]
    public void Encodes_indices_of_any_rank()
    {
        using var s = TensorScope.Begin();
        long[] idx = [0, 3, 1, 2, 2, 0];
        var y = Ops.OneHot(Tensor.FromArray(idx, new Shape(2, 3)), 4);
        y.Shape.Should().Be(new Shape(2, 3, 4));
        y.DType.Should().Be(DType.Float32);
        y.ToDoubleArray().Should().Equal(Reference(idx, 4));

        var v = Ops.OneHot(Tensor.FromArray(new[] { 2, 0 }, new Shape(2)), 3);
        v.ToDoubleArray().Should().Equal(0, 0, 1, 1, 0, 0);

        var scalar = Ops.OneHot(Tensor.Scalar((byte)1), 2);
        scalar.Shape.Should().Be(new Shape(2));
        scalar.ToDoubleArray().Should().Equal(0, 1);

        var empty = Ops.OneHot(Ops.Zeros(new Shape(0), DType.Int64), 5);
        empty.Shape.Should().Be(new Shape(0, 5));
    }

    [Test]
    public void Result_dtype_is_a_parameter([Values(DType.Float64, DType.Float16, DType.Int64, DType.Int32, DType.UInt8, DType.Bool)] DType dtype)
    {
        using var s = TensorScope.Begin();
        var y = Ops.OneHot(Tensor.FromArray(new sbyte[] { 1, 0 }, new Shape(2)), 2, dtype);
        y.DType.Should().Be(dtype);
        Ops.Cast(y, DType.Float64).ToDoubleArray().Should().Equal(0, 1, 1, 0);
    }

    [Test]
    public void Is_not_differentiable() => OpSet.OneHot.IsDifferentiable.Should().BeFalse();

    [Test]
    public void Errors()
    {
        using var s = TensorScope.Begin();
        var idx = Tensor.FromArray(new[] { 1L, 2L }, new Shape(2));
        FluentActions.Invoking(() => Ops.OneHot(Ops.Cast(idx, DType.Float32), 3)).Should().Throw<OpException>().WithMessage("one_hot*integer dtype*float32*");
        FluentActions.Invoking(() => Ops.OneHot(Ops.Cast(idx, DType.Bool), 3)).Should().Throw<OpException>().WithMessage("one_hot*integer dtype*bool*");
        FluentActions.Invoking(() => Ops.OneHot(idx, 0)).Should().Throw<OpException>().WithMessage("one_hot*depth 0 must be positive*");
        // Values are only known at run time: the torch backend surfaces libtorch's own error (not an OpException).
        FluentActions.Invoking(() => Ops.OneHot(idx, 2)).Should().Throw<Exception>().Where(e => !(e is OpException));
        FluentActions.Invoking(() => Ops.OneHot(Tensor.FromArray(new[] { -1L }, new Shape(1)), 2)).Should().Throw<Exception>().Where(e => !(e is OpException));
    }
}
