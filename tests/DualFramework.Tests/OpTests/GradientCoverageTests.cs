using DualFramework.Operators;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;


/// <summary>
/// One canonical gradient check per differentiable op (float64 finite differences and libtorch autograd), plus a guard that
/// fails when an op is added to the op set without an entry here. The per-family test files check more cases.
/// </summary>
[TestFixture]
public class GradientCoverageTests
{
    [Test]
    public void Every_differentiable_op_has_a_gradient_check_here()
    {
        var differentiable = OpRegistry.All.Where(o => o.IsDifferentiable).Select(o => o.Name).ToHashSet();
        differentiable.Except(OpCases.Cases.Keys).Should().BeEmpty("each differentiable op needs a canonical gradient check");
        OpCases.Cases.Keys.Except(differentiable).Should().BeEmpty("entries must name differentiable ops");
    }

    public static IEnumerable<string> OpNames() => OpCases.Cases.Keys.Order();

    [TestCaseSource(nameof(OpNames))]
    public void Gradient_rule_matches_finite_differences_and_libtorch(string op)
    {
        var c = OpCases.Cases[op];
        GradCheck.Check(c.F, c.Eps, c.Rtol, 1e-7, c.Args);
    }
}
