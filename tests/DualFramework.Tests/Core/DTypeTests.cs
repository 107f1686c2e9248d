using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Core;

[TestFixture]
public class DTypeTests
{
    [TestCase(DType.Bool, DType.UInt8, DType.UInt8)]
    [TestCase(DType.Bool, DType.Float16, DType.Float16)]
    [TestCase(DType.UInt8, DType.Int8, DType.Int32)]
    [TestCase(DType.Int8, DType.Int32, DType.Int32)]
    [TestCase(DType.Int32, DType.Int64, DType.Int64)]
    [TestCase(DType.Int64, DType.Float16, DType.Float16)]
    [TestCase(DType.Int64, DType.BFloat16, DType.BFloat16)]
    [TestCase(DType.Float16, DType.BFloat16, DType.Float32)]
    [TestCase(DType.Float16, DType.Float32, DType.Float32)]
    [TestCase(DType.BFloat16, DType.Float64, DType.Float64)]
    [TestCase(DType.Float32, DType.Float64, DType.Float64)]
    [TestCase(DType.Int32, DType.Int32, DType.Int32)]
    public void Promotion_follows_the_documented_lattice(DType a, DType b, DType expected)
    {
        DTypes.Promote(a, b).Should().Be(expected);
        DTypes.Promote(b, a).Should().Be(expected, "promotion is symmetric");
    }

    [Test]
    public void Weak_scalars_do_not_widen_tensors_of_their_category()
    {
        DTypes.PromoteWithScalar(DType.Float16, scalarIsFloating: true).Should().Be(DType.Float16);
        DTypes.PromoteWithScalar(DType.Int32, scalarIsFloating: true).Should().Be(DType.Float32);
        DTypes.PromoteWithScalar(DType.Int8, scalarIsFloating: false).Should().Be(DType.Int8);
        DTypes.PromoteWithScalar(DType.Bool, scalarIsFloating: false).Should().Be(DType.Int64);
    }

    [Test]
    public void Element_sizes_and_categories()
    {
        DType.Float32.ElementSize().Should().Be(4);
        DType.BFloat16.ElementSize().Should().Be(2);
        DType.Int64.ElementSize().Should().Be(8);
        DType.Bool.ElementSize().Should().Be(1);
        DType.BFloat16.IsFloating().Should().BeTrue();
        DType.UInt8.IsInteger().Should().BeTrue();
        DType.Bool.IsInteger().Should().BeFalse();
        DType.BFloat16.Name().Should().Be("bfloat16");
    }

    [Test]
    public void Mixed_dtype_arithmetic_on_tensors_promotes()
    {
        using var s = TensorScope.Begin();
        var i = Tensor.FromArray(new[] { 1, 2, 3 });
        var f = Tensor.FromArray(new[] { 0.5f, 0.5f, 0.5f });
        var r = Ops.Add(i, f);
        r.DType.Should().Be(DType.Float32);
        r.ToArray<float>().Should().Equal(1.5f, 2.5f, 3.5f);
        Ops.Mul(i, 2.0).DType.Should().Be(DType.Int32, "a whole C# scalar keeps an int tensor int");
        Ops.Mul(i, 2.5).DType.Should().Be(DType.Float32);
        Ops.Div(i, 2.0).ToArray<float>().Should().Equal(0.5f, 1f, 1.5f);
        var u8 = Tensor.FromArray(new byte[] { 200 });
        var i8 = Tensor.FromArray(new sbyte[] { -100 });
        var sum = Ops.Add(u8, i8);
        sum.DType.Should().Be(DType.Int32);
        sum.ToArray<int>().Should().Equal(100);
        var h = Ops.Cast(f, DType.Float16);
        var bf = Ops.Cast(f, DType.BFloat16);
        Ops.Add(h, bf).DType.Should().Be(DType.Float32);
        Ops.Mul(h, 3.0).DType.Should().Be(DType.Float16);
    }

    [Test]
    public void Half_precision_tensors_compute_on_cpu()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Cast(Tensor.FromArray(new[] { 1.0f, 2.0f, 4.0f }), DType.BFloat16);
        var y = Ops.Sqrt(Ops.Mul(x, x));
        y.DType.Should().Be(DType.BFloat16);
        y.ToFloatArray().Should().Equal(1f, 2f, 4f);
        var h = Tensor.FromArray(new[] { (Half)1.5, (Half)(-2) });
        Ops.Relu(h).ToArray<Half>().Should().Equal((Half)1.5, (Half)0);
    }
}
