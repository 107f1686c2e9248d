using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Core;

[TestFixture]
public class ShapeRuleTests
{
    [TestCase(new long[] { 2, 3 }, new long[] { 3 }, new long[] { 2, 3 })]
    [TestCase(new long[] { 4, 1, 5 }, new long[] { 3, 1 }, new long[] { 4, 3, 5 })]
    [TestCase(new long[] { }, new long[] { 2, 2 }, new long[] { 2, 2 })]
    [TestCase(new long[] { 1 }, new long[] { 0 }, new long[] { 0 })]
    [TestCase(new long[] { 8, 1, 6, 1 }, new long[] { 7, 1, 5 }, new long[] { 8, 7, 6, 5 })]
    public void Broadcasting_follows_numpy(long[] a, long[] b, long[] expected)
    {
        Shape.TryBroadcast(new Shape(a), new Shape(b), out var r).Should().BeTrue();
        r.Should().Be(new Shape(expected));
        Shape.TryBroadcast(new Shape(b), new Shape(a), out var r2).Should().BeTrue();
        r2.Should().Be(new Shape(expected));
    }

    [TestCase(new long[] { 2, 3 }, new long[] { 2 })]
    [TestCase(new long[] { 4, 3 }, new long[] { 2, 1, 2 })]
    [TestCase(new long[] { 0 }, new long[] { 2 })]
    public void Broadcasting_rejects_incompatible_shapes(long[] a, long[] b)
    {
        Shape.TryBroadcast(new Shape(a), new Shape(b), out _).Should().BeFalse();
    }

    [Test]
    public void Shape_basics()
    {
        var s = new Shape(2, 3, 4);
        s.Rank.Should().Be(3);
        s.NumElements.Should().Be(24);
        s[-1].Should().Be(4);
        s.ToString().Should().Be("[2, 3, 4]");
        Shape.Scalar.NumElements.Should().Be(1);
        s.TryNormalizeAxis(-3).Should().Be(0);
        s.TryNormalizeAxis(3).Should().Be(-1);
        new Shape(3).CanBroadcastTo(new Shape(2, 3)).Should().BeTrue();
        new Shape(2).CanBroadcastTo(new Shape(2, 3)).Should().BeFalse();
        var act = () => new Shape(2, -1);
        act.Should().Throw<ArgumentException>().WithMessage("*non-negative*");
    }
}
