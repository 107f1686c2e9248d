using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Core;

[TestFixture]
public class ScopeTests
{
    [Test]
    public void Scope_disposes_what_it_owns_and_keeps_what_is_kept()
    {
        Tensor kept, temp;
        using (var outer = TensorScope.Begin())
        {
            using (var inner = TensorScope.Begin())
            {
                var a = Ops.Ones(new Shape(2));
                temp = Ops.Add(a, a);
                kept = inner.Keep(Ops.Add(temp, a));
                inner.Count.Should().Be(2);
            }
            temp.IsDisposed.Should().BeTrue();
            kept.IsDisposed.Should().BeFalse();
            kept.ToFloatArray().Should().Equal(3f, 3f);
            outer.Count.Should().Be(1);
        }
        kept.IsDisposed.Should().BeTrue("the outer scope owned it after Keep");
    }

    [Test]
    public void Detached_tensors_survive_all_scopes()
    {
        Tensor t;
        using (TensorScope.Begin())
            t = Ops.Full(new Shape(1), 7).DetachFromScope();
        t.IsDisposed.Should().BeFalse();
        t.Item().Should().Be(7);
        t.Dispose();
        t.IsDisposed.Should().BeTrue();
    }

    [Test]
    public void Using_a_disposed_tensor_fails_clearly()
    {
        Tensor t;
        using (TensorScope.Begin()) t = Ops.Ones(new Shape(1));
        var act = () => Ops.Neg(t);
        act.Should().Throw<ObjectDisposedException>().WithMessage("*neg: operand 0 (float32[1]) was disposed*");
    }

    [Test]
    public void Out_of_order_disposal_is_an_error()
    {
        var outer = TensorScope.Begin();
        var inner = TensorScope.Begin();
        var act = () => outer.Dispose();
        act.Should().Throw<InvalidOperationException>().WithMessage("*out of order*");
        inner.Dispose();
        TensorScope.Current.Should().BeSameAs(outer);
        outer.Dispose();
    }
}
