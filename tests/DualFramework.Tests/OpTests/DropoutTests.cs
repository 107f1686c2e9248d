using DualFramework.Autodiff;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;


[TestFixture]
public class DropoutTests
{
    [Test]
    public void Dropout_zeroes_with_the_mask_and_scales_the_rest()
    {
        using var s = TensorScope.Begin();
        var xd = Arg.Random(1, -2, 2, 4, 5).Data;
        var x = Tensor.FromArray(xd, new Shape(4, 5));
        var (y, mask) = Ops.DropoutWithMask(x, 0.25, 99);
        y.Shape.Should().Be(x.Shape);
        mask.Spec.Should().Be(new TensorSpec(new Shape(4, 5), DType.Bool));
        var m = mask.ToArray<bool>();
        var expected = xd.Select((v, i) => m[i] ? v / 0.75 : 0.0).ToArray();
        GradCheck.AssertClose(y.ToDoubleArray(), expected, 1e-15, 0, "y = mask ? x/(1-p) : 0");
        m.Should().Contain(true).And.Contain(false);
    }

    [Test]
    public void Dropout_mask_is_a_function_of_seed_and_shape_only()
    {
        using var s = TensorScope.Begin();
        var x64 = Ops.Ones(new Shape(1000), DType.Float64);
        var x32 = Ops.Ones(new Shape(1000), DType.Float32);
        var a = Ops.DropoutWithMask(x64, 0.5, 7).Mask.ToArray<bool>();
        Ops.DropoutWithMask(x64, 0.5, 7).Mask.ToArray<bool>().Should().Equal(a, "same seed");
        Ops.DropoutWithMask(x32, 0.5, 7).Mask.ToArray<bool>().Should().Equal(a, "the mask does not depend on the dtype");
        Ops.DropoutWithMask(x64, 0.5, 8).Mask.ToArray<bool>().Should().NotEqual(a, "different seeds");
    }

    [TestCase(0.1)]
    [TestCase(0.5)]
    [TestCase(0.9)]
    public void Dropout_keeps_the_expected_fraction(double p)
    {
        using var s = TensorScope.Begin();
        const int n = 100_000;
        var mask = Ops.DropoutWithMask(Ops.Ones(new Shape(n)), p, 12345).Mask.ToArray<bool>();
        double kept = mask.Count(b => b) / (double)n;
        // Binomial standard error; 6 sigma keeps the false-failure rate negligible.
        double se = Math.Sqrt(p * (1 - p) / n);
        kept.Should().BeApproximately(1 - p, 6 * se);
    }

    [Test]
    public void Dropout_edge_probabilities_and_training_flag()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(new[] { 1.0, -2.0, 3.0, double.PositiveInfinity });
        var gen = new Generator(3);
        Ops.Dropout(x, 0.0, true, gen).Should().BeSameAs(x, "p = 0 is the identity");
        Ops.Dropout(x, 0.7, false, gen).Should().BeSameAs(x, "inference is the identity");
        gen.Draws.Should().Be(0, "no seed is drawn when nothing is dropped");
        Ops.Dropout(x, 1.0, true, gen).ToDoubleArray().Should().Equal(0, 0, 0, 0);
        var (y0, m0) = Ops.DropoutWithMask(x, 0.0, 5);
        y0.ToDoubleArray().Should().Equal(1, -2, 3, double.PositiveInfinity);
        m0.ToArray<bool>().Should().AllBeEquivalentTo(true);
        Ops.DropoutWithMask(x, 1.0, 5).Mask.ToArray<bool>().Should().AllBeEquivalentTo(false);
    }

    [Test]
    public void Dropout_with_a_generator_is_reproducible_and_advances()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Ones(new Shape(200), DType.Float64);
        var g1 = new Generator(42);
        var g2 = new Generator(42);
        var a1 = Ops.Dropout(x, 0.5, true, g1).ToDoubleArray();
        var b1 = Ops.Dropout(x, 0.5, true, g1).ToDoubleArray();
        var a2 = Ops.Dropout(x, 0.5, true, g2).ToDoubleArray();
        var b2 = Ops.Dropout(x, 0.5, true, g2).ToDoubleArray();
        a1.Should().Equal(a2);
        b1.Should().Equal(b2);
        a1.Should().NotEqual(b1, "each call draws a new seed");
    }

    [Test]
    public void Dropout_gradient_uses_the_forward_mask()
    {
        // The seed fixes the mask, so the function is deterministic: finite differences, the tape rule and libtorch
        // autograd (through the kernel's own ops) must all agree.
        GradCheck.Check(t => Ops.DropoutWithMask(t[0], 0.3, 2024).Output, Arg.Random(2, -1, 1, 3, 7));

        using var s = TensorScope.Begin();
        using var tape = Autograd.UseTape();
        var x = Tensor.FromArray(Arg.Random(3, -1, 1, 50).Data, new Shape(50));
        x.RequiresGrad = true;
        var (y, mask) = Ops.DropoutWithMask(x, 0.4, 77);
        var g = Autograd.Grad([Ops.Sum(y)], [x])[0]!.ToDoubleArray();
        var m = mask.ToArray<bool>();
        g.Should().Equal(m.Select(k => k ? 1 / 0.6 : 0.0));
        m.Should().Contain(true).And.Contain(false);
    }

    [Test]
    public void Dropout_rejects_bad_arguments()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Ones(new Shape(3));
        var gen = new Generator(1);
        foreach (var p in new[] { -0.1, 1.5, double.NaN })
        {
            Action a = () => Ops.Dropout(x, p, true, gen);
            a.Should().Throw<OpException>().WithMessage("*probability p must be in [0, 1]*");
            Action b = () => Ops.Dropout(x, p, false, gen);
            b.Should().Throw<OpException>("the probability is checked even when not training");
        }
        Action ints = () => Ops.DropoutWithMask(Ops.Ones(new Shape(3), DType.Int64), 0.5, 1);
        ints.Should().Throw<OpException>().WithMessage("*floating*");
    }
}
