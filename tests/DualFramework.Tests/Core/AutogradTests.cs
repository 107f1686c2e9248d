using DualFramework.Autodiff;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Core;

/// <summary>The tape engine itself; each test runs both on Core's tape and on libtorch autograd.</summary>
[TestFixture]
public class AutogradTests
{
    private static IDisposable? Mode(bool tape) => tape ? Autograd.UseTape() : null;

    [TestCase(true)]
    [TestCase(false)]
    public void Backward_accumulates_into_leaves_across_uses_and_calls(bool tape)
    {
        using var s = TensorScope.Begin();
        using var m = Mode(tape);
        var x = Tensor.FromArray(new[] { 1.0, 2.0, 3.0 });
        x.RequiresGrad = true;
        // y = sum(x*x + 3x) → dy/dx = 2x + 3
        var y = Ops.Sum(Ops.Add(Ops.Mul(x, x), Ops.Mul(x, 3.0)));
        y.Backward();
        x.Grad!.ToDoubleArray().Should().Equal(5, 7, 9);
        Ops.Sum(Ops.Mul(x, 2.0)).Backward();
        x.Grad!.ToDoubleArray().Should().Equal([7.0, 9, 11], "gradients accumulate until cleared");
        x.Grad = null;
        x.Grad.Should().BeNull();
    }

    [TestCase(true)]
    [TestCase(false)]
    public void NoGrad_and_Detach_stop_recording(bool tape)
    {
        using var s = TensorScope.Begin();
        using var m = Mode(tape);
        var x = Tensor.FromArray(new[] { 2.0 });
        x.RequiresGrad = true;
        using (Autograd.NoGrad())
            Ops.Mul(x, x).RequiresGrad.Should().BeFalse();
        Ops.Mul(x, x).RequiresGrad.Should().BeTrue();
        var d = x.Detach();
        d.RequiresGrad.Should().BeFalse();
        var y = Ops.Sum(Ops.Mul(x, d));
        var g = Autograd.Grad([y], [x]);
        g[0]!.ToDoubleArray().Should().Equal([2.0], "the detached factor is a constant");
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Grad_returns_null_for_unused_inputs_and_needs_seed_for_non_scalars(bool tape)
    {
        using var s = TensorScope.Begin();
        using var m = Mode(tape);
        var a = Tensor.FromArray(new[] { 1.0, 2.0 });
        var b = Tensor.FromArray(new[] { 5.0 });
        a.RequiresGrad = true;
        b.RequiresGrad = true;
        var y = Ops.Mul(a, 4.0);
        var act = () => Autograd.Grad([y], [a]);
        act.Should().Throw<InvalidOperationException>().WithMessage("*non-scalar*");
        var g = Autograd.Grad([y], [a, b], [Tensor.FromArray(new[] { 1.0, -1.0 })], retainGraph: true);
        g[0]!.ToDoubleArray().Should().Equal(4, -4);
        g[1].Should().BeNull();
    }

    [Test]
    public void Integer_tensors_cannot_require_grad()
    {
        using var s = TensorScope.Begin();
        var i = Tensor.FromArray(new[] { 1, 2 });
        var act = () => i.RequiresGrad = true;
        act.Should().Throw<InvalidOperationException>().WithMessage("*Only floating tensors*int32*");
    }

    [Test]
    public void Tape_handles_diamond_graphs_in_topological_order()
    {
        using var s = TensorScope.Begin();
        using var m = Autograd.UseTape();
        var x = Tensor.FromArray(new[] { 0.5 });
        x.RequiresGrad = true;
        // u = exp(x); y = u*u + u → dy/dx = (2u + 1)·u
        var u = Ops.Exp(x);
        var y = Ops.Sum(Ops.Add(Ops.Mul(u, u), u));
        var g = Autograd.Grad([y], [x])[0]!.Item();
        double e = Math.Exp(0.5);
        g.Should().BeApproximately((2 * e + 1) * e, 1e-12);
    }

    [Test]
    public void Second_order_gradients_with_createGraph_on_the_tape()
    {
        using var s = TensorScope.Begin();
        using var m = Autograd.UseTape();
        var x = Tensor.FromArray(new[] { 1.5 });
        x.RequiresGrad = true;
        var y = Ops.Sum(Ops.Mul(Ops.Mul(x, x), x)); // x³
        var dx = Autograd.Grad([y], [x], createGraph: true)[0]!; // 3x²
        dx.Item().Should().BeApproximately(6.75, 1e-12);
        var d2 = Autograd.Grad([Ops.Sum(dx)], [x])[0]!; // 6x
        d2.Item().Should().BeApproximately(9.0, 1e-12);
    }
}
