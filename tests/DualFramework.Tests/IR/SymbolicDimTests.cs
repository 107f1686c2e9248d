using DualFramework.IR;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.IR;

/// <summary>Dimension expressions and their recovery from sample sizes.</summary>
[TestFixture]
public class SymbolicDimTests
{
    private static readonly Dim B = Dim.Symbol("batch"), S = Dim.Symbol("seq");

    [Test]
    public void Expressions_are_canonical_polynomials()
    {
        var flat = B * S * 384;
        flat.ToString().Should().Be("384*batch*seq");
        (S * B * 384).Should().Be(flat, "products commute");
        (2 * S + 1).ToString().Should().Be("2*seq + 1");
        (B + S - B).Should().Be(S);
        (S - S).IsConstant.Should().BeTrue();
        (S - S).Value.Should().Be(0);
        flat.Evaluate(new Dictionary<string, long> { ["batch"] = 3, ["seq"] = 5 }).Should().Be(3 * 5 * 384);
        flat.TryDivide(384).Should().Be(B * S);
        (2 * S + 1).TryDivide(2).Should().BeNull();
        B.SymbolName.Should().Be("batch");
        flat.SymbolName.Should().BeNull();
        flat.Symbols.Should().BeEquivalentTo(["batch", "seq"]);
        FluentActions.Invoking(() => Dim.Symbol("a b")).Should().Throw<ArgumentException>().WithMessage("*not a valid symbol name*");
        FluentActions.Invoking(() => flat.Evaluate(new Dictionary<string, long> { ["batch"] = 3 })).Should().Throw<KeyNotFoundException>().WithMessage("*seq*");
    }

    private static IReadOnlyList<IReadOnlyDictionary<string, long>> Points => SymbolicGraphs.SamplePoints(["batch", "seq"]);

    private static long[] At(Func<long, long, long> f) => Points.Select(p => f(p["batch"], p["seq"])).ToArray();

    [Test]
    public void Sizes_at_the_sample_points_are_fitted_exactly()
    {
        DimFit.Fit(Points, At((b, s) => 7)).Should().Be(Dim.Const(7));
        DimFit.Fit(Points, At((b, s) => b)).Should().Be(B);
        DimFit.Fit(Points, At((b, s) => b * s * 12)).Should().Be(12 * B * S);
        DimFit.Fit(Points, At((b, s) => 2 * s + 1)).Should().Be(2 * S + 1);
        DimFit.Fit(Points, At((b, s) => b + s)).Should().Be(B + S);
        DimFit.Fit(Points, At((b, s) => s * s - 3)).Should().Be(S * S - 3);
        // A convolution's output size (s − 1) / 2 + 1 is not a polynomial: no fit rather than a wrong one.
        DimFit.Fit(Points, At((b, s) => (s - 1) / 2 + 1)).Should().BeNull();
    }

    [Test]
    public void Sample_points_give_every_symbol_distinct_sizes_away_from_size_one_paths()
    {
        var points = SymbolicGraphs.SamplePoints(["a", "b", "c"]);
        points.Should().HaveCount(SymbolicGraphs.SampleCount);
        var all = points.SelectMany(p => p.Values).ToArray();
        all.Should().OnlyHaveUniqueItems();
        all.Should().OnlyContain(v => v > 64);
        FluentActions.Invoking(() => SymbolicGraphs.SamplePoints(Enumerable.Range(0, 9).Select(i => $"s{i}").ToArray()))
            .Should().Throw<SymbolicShapeException>().WithMessage("*At most 8*");
    }
}
