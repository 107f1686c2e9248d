using DualFramework.Operators;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;


[TestFixture]
public class CreationTests
{
    [Test]
    public void Full_zeros_ones()
    {
        using var s = TensorScope.Begin();
        var f = Ops.Full(new Shape(2, 2), 2.5, DType.Float64);
        f.Shape.Should().Be(new Shape(2, 2));
        f.ToDoubleArray().Should().Equal(2.5, 2.5, 2.5, 2.5);
        Ops.Full(new Shape(3), 7.9, DType.Int32).ToArray<int>().Should().Equal(7, 7, 7);
        Ops.Ones(new Shape(2), DType.Bool).ToArray<bool>().Should().Equal(true, true);
        Ops.Zeros(Shape.Scalar).Item().Should().Be(0);
        Ops.Zeros(new Shape(0, 3)).NumElements.Should().Be(0);
        OpSet.Full.IsCreation.Should().BeTrue();
        FluentActions.Invoking(() => Dispatcher.Create(OpSet.Full, new FullAttrs([2, -1], 0, DType.Float32), null))
            .Should().Throw<OpException>().WithMessage("full*negative*");
    }

    [Test]
    public void Arange_with_integer_arguments_is_int64()
    {
        using var s = TensorScope.Begin();
        var a = Ops.Arange(5);
        a.DType.Should().Be(DType.Int64);
        a.ToArray<long>().Should().Equal(0, 1, 2, 3, 4);
        Ops.Arange(2, 11, 3).ToArray<long>().Should().Equal(2, 5, 8);
        Ops.Arange(5, -1, -2).ToArray<long>().Should().Equal(5, 3, 1);
        Ops.Arange(3, 3).NumElements.Should().Be(0);
        Ops.Arange(3, 0).NumElements.Should().Be(0);
        Ops.Arange(-3).Shape.Should().Be(new Shape(0));
        var i32 = Ops.Arange(0, 4, 1, DType.Int32);
        i32.DType.Should().Be(DType.Int32);
        i32.ToArray<int>().Should().Equal(0, 1, 2, 3);
        Ops.Arange(0, 4, 1, DType.Float64).ToDoubleArray().Should().Equal(0, 1, 2, 3);
        Ops.Arange(250, 256, 2, DType.UInt8).ToArray<byte>().Should().Equal(250, 252, 254);
    }

    [Test]
    public void Arange_with_fractional_arguments_follows_numpy_length_rule()
    {
        using var s = TensorScope.Begin();
        var a = Ops.Arange(0.0, 1.0, 0.25);
        a.DType.Should().Be(DType.Float32);
        a.ToDoubleArray().Should().Equal(0, 0.25, 0.5, 0.75);
        // ceil((2.5 − 0.5) / 0.75) = 3
        Ops.Arange(0.5, 2.5, 0.75, DType.Float64).ToDoubleArray().Should().Equal(0.5, 1.25, 2.0);
        Ops.Arange(1.0, -1.0, -0.5, DType.Float64).ToDoubleArray().Should().Equal(1, 0.5, 0, -0.5);
        var tenth = Ops.Arange(0.0, 1.0, 0.1, DType.Float64).ToDoubleArray();
        tenth.Should().HaveCount(10);
        for (int i = 0; i < 10; i++) tenth[i].Should().Be(i * 0.1);
        // A fractional stop with an integer dtype: ceil(2.5) = 3 elements (libtorch alone would give 2).
        Ops.Arange(0, 2.5, 1, DType.Int64).ToArray<long>().Should().Equal(0, 1, 2);
        Ops.Arange(0.0, 3.0, 1.0, DType.Float16).ToDoubleArray().Should().Equal(0, 1, 2);
        OpSet.Arange.IsCreation.Should().BeTrue();
        OpSet.Arange.IsDifferentiable.Should().BeFalse();
    }

    [Test]
    public void Arange_errors()
    {
        using var s = TensorScope.Begin();
        FluentActions.Invoking(() => Ops.Arange(0, 5, 0)).Should().Throw<OpException>().WithMessage("arange*step must not be zero*");
        FluentActions.Invoking(() => Ops.Arange(0.0, 1.0, 0.0)).Should().Throw<OpException>().WithMessage("arange*step*zero*");
        FluentActions.Invoking(() => Ops.Arange(0.0, double.PositiveInfinity, 1.0)).Should().Throw<OpException>().WithMessage("arange*finite*");
        FluentActions.Invoking(() => Ops.Arange(0.0, double.NaN)).Should().Throw<OpException>().WithMessage("arange*finite*");
        FluentActions.Invoking(() => Ops.Arange(0, 2, 1, DType.Bool)).Should().Throw<OpException>().WithMessage("arange*bool*");
        FluentActions.Invoking(() => Ops.Arange(0.5, 3, 1, DType.Int32)).Should().Throw<OpException>().WithMessage("arange*whole start and step*");
        FluentActions.Invoking(() => Ops.Arange(0, 3, 0.5, DType.Int64)).Should().Throw<OpException>().WithMessage("arange*whole*");
        FluentActions.Invoking(() => Ops.Arange(250, 260, 1, DType.UInt8)).Should().Throw<OpException>().WithMessage("arange*does not fit in uint8*");
        FluentActions.Invoking(() => Ops.Arange(-1, 2, 1, DType.UInt8)).Should().Throw<OpException>().WithMessage("arange*does not fit*");
        FluentActions.Invoking(() => Ops.Arange(0.0, 1e300, 1e-10)).Should().Throw<OpException>().WithMessage("arange*too long*");
    }

    [Test]
    public void Eye_square_rectangular_and_dtypes()
    {
        using var s = TensorScope.Begin();
        var e = Ops.Eye(3);
        e.Shape.Should().Be(new Shape(3, 3));
        e.DType.Should().Be(DType.Float32);
        e.ToDoubleArray().Should().Equal(1, 0, 0, 0, 1, 0, 0, 0, 1);
        var r = Ops.Eye(2, 4, DType.Int64);
        r.ToArray<long>().Should().Equal(1, 0, 0, 0, 0, 1, 0, 0);
        Ops.Eye(3, 2, DType.Float64).ToDoubleArray().Should().Equal(1, 0, 0, 1, 0, 0);
        Ops.Eye(2, dtype: DType.Bool).ToArray<bool>().Should().Equal(true, false, false, true);
        Ops.Eye(0).Shape.Should().Be(new Shape(0, 0));
        Ops.Eye(2, 0).Shape.Should().Be(new Shape(2, 0));
        OpSet.Eye.IsCreation.Should().BeTrue();
        OpSet.Eye.IsDifferentiable.Should().BeFalse();
        FluentActions.Invoking(() => Ops.Eye(-1)).Should().Throw<OpException>().WithMessage("eye*negative size*");
        FluentActions.Invoking(() => Ops.Eye(2, -3)).Should().Throw<OpException>().WithMessage("eye*negative size [2, -3]*");
    }
}
