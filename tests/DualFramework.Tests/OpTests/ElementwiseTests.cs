using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;


[TestFixture]
public class ElementwiseTests
{
    private static double[] Apply(Func<Tensor, Tensor> f, double[] x)
    {
        using var s = TensorScope.Begin();
        return f(Tensor.FromArray(x, new Shape(x.Length))).ToDoubleArray();
    }

    private static readonly double[] Xs = [-2.5, -1.0, -0.3, 0.0, 0.4, 1.0, 3.0];
    private static readonly double[] Pos = [0.1, 0.5, 1.0, 2.0, 7.5];

    private static double Erf(double x)
    {
        // Abramowitz-Stegun 7.1.26 is too coarse; integrate erf by Simpson's rule instead (independent of libtorch).
        int n = 2000;
        double h = x / n, s = 0;
        for (int i = 0; i <= n; i++)
        {
            double t = i * h, w = i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2;
            s += w * Math.Exp(-t * t);
        }
        return 2 / Math.Sqrt(Math.PI) * s * h / 3;
    }

    public static IEnumerable<TestCaseData> UnaryCases()
    {
        yield return new TestCaseData("neg", (Func<Tensor, Tensor>)Ops.Neg, (Func<double, double>)(v => -v), Xs);
        yield return new TestCaseData("abs", (Func<Tensor, Tensor>)Ops.Abs, (Func<double, double>)Math.Abs, Xs);
        yield return new TestCaseData("sign", (Func<Tensor, Tensor>)Ops.Sign, (Func<double, double>)(v => Math.Sign(v)), Xs);
        yield return new TestCaseData("exp", (Func<Tensor, Tensor>)Ops.Exp, (Func<double, double>)Math.Exp, Xs);
        yield return new TestCaseData("log", (Func<Tensor, Tensor>)Ops.Log, (Func<double, double>)Math.Log, Pos);
        yield return new TestCaseData("sqrt", (Func<Tensor, Tensor>)Ops.Sqrt, (Func<double, double>)Math.Sqrt, Pos);
        yield return new TestCaseData("rsqrt", (Func<Tensor, Tensor>)Ops.Rsqrt, (Func<double, double>)(v => 1 / Math.Sqrt(v)), Pos);
        yield return new TestCaseData("tanh", (Func<Tensor, Tensor>)Ops.Tanh, (Func<double, double>)Math.Tanh, Xs);
        yield return new TestCaseData("sigmoid", (Func<Tensor, Tensor>)Ops.Sigmoid, (Func<double, double>)(v => 1 / (1 + Math.Exp(-v))), Xs);
        yield return new TestCaseData("erf", (Func<Tensor, Tensor>)Ops.Erf, (Func<double, double>)Erf, Xs);
        yield return new TestCaseData("relu", (Func<Tensor, Tensor>)Ops.Relu, (Func<double, double>)(v => Math.Max(v, 0)), Xs);
        yield return new TestCaseData("leaky_relu", (Func<Tensor, Tensor>)(t => Ops.LeakyRelu(t, 0.2)), (Func<double, double>)(v => v > 0 ? v : 0.2 * v), Xs);
        yield return new TestCaseData("gelu", (Func<Tensor, Tensor>)(t => Ops.Gelu(t)), (Func<double, double>)(v => 0.5 * v * (1 + Erf(v / Math.Sqrt(2)))), Xs);
        yield return new TestCaseData("gelu_tanh", (Func<Tensor, Tensor>)(t => Ops.Gelu(t, GeluApproximation.Tanh)),
            (Func<double, double>)(v => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)))), Xs);
        yield return new TestCaseData("softplus", (Func<Tensor, Tensor>)(t => Ops.Softplus(t, 2.0, 3.0)),
            (Func<double, double>)(v => 2 * v > 3 ? v : Math.Log(1 + Math.Exp(2 * v)) / 2), Xs);
        yield return new TestCaseData("clamp", (Func<Tensor, Tensor>)(t => Ops.Clamp(t, -1.0, 0.5)), (Func<double, double>)(v => Math.Min(Math.Max(v, -1), 0.5)), Xs);
        yield return new TestCaseData("clamp_min", (Func<Tensor, Tensor>)(t => Ops.Clamp(t, min: 0.2)), (Func<double, double>)(v => Math.Max(v, 0.2)), Xs);
    }

    [TestCaseSource(nameof(UnaryCases))]
    public void Unary_forward_matches_reference(string name, Func<Tensor, Tensor> f, Func<double, double> reference, double[] xs)
    {
        var got = Apply(f, xs);
        GradCheck.AssertClose(got, xs.Select(reference).ToArray(), 1e-9, 1e-12, name);
    }

    public static IEnumerable<TestCaseData> DifferentiableUnaryCases() => UnaryCases().Where(c => (string)c.Arguments[0]! != "sign");

    [TestCaseSource(nameof(DifferentiableUnaryCases))]
    public void Unary_gradient_matches_finite_differences_and_autograd(string name, Func<Tensor, Tensor> f, Func<double, double> reference, double[] xs)
    {
        // Keep away from kinks (0 for relu/abs, the clamp bounds, the softplus threshold) where one-sided limits differ.
        var safe = xs.Where(v => Math.Abs(v) > 1e-3 && Math.Abs(v + 1) > 1e-3 && Math.Abs(v - 0.5) > 1e-3 && Math.Abs(v - 0.2) > 1e-3 && Math.Abs(2 * v - 3) > 1e-3).ToArray();
        GradCheck.Check(t => f(t[0]), Arg.Of([safe.Length], safe));
    }

    public static IEnumerable<TestCaseData> BinaryCases()
    {
        yield return new TestCaseData("add", (Func<Tensor, Tensor, Tensor>)Ops.Add, (Func<double, double, double>)((a, b) => a + b));
        yield return new TestCaseData("sub", (Func<Tensor, Tensor, Tensor>)Ops.Sub, (Func<double, double, double>)((a, b) => a - b));
        yield return new TestCaseData("mul", (Func<Tensor, Tensor, Tensor>)Ops.Mul, (Func<double, double, double>)((a, b) => a * b));
        yield return new TestCaseData("div", (Func<Tensor, Tensor, Tensor>)Ops.Div, (Func<double, double, double>)((a, b) => a / b));
        yield return new TestCaseData("pow", (Func<Tensor, Tensor, Tensor>)Ops.Pow, (Func<double, double, double>)Math.Pow);
        yield return new TestCaseData("maximum", (Func<Tensor, Tensor, Tensor>)Ops.Maximum, (Func<double, double, double>)Math.Max);
        yield return new TestCaseData("minimum", (Func<Tensor, Tensor, Tensor>)Ops.Minimum, (Func<double, double, double>)Math.Min);
    }

    // a: [2,3] positive (so pow is real), b: [3] broadcast along the first axis.
    private static readonly double[] A = [0.5, 1.5, 2.0, 0.8, 3.0, 1.2];
    private static readonly double[] B = [1.3, -0.7, 2.2];

    [TestCaseSource(nameof(BinaryCases))]
    public void Binary_forward_broadcasts_and_matches_reference(string name, Func<Tensor, Tensor, Tensor> f, Func<double, double, double> reference)
    {
        using var s = TensorScope.Begin();
        var y = f(Tensor.FromArray(A, new Shape(2, 3)), Tensor.FromArray(B, new Shape(3)));
        y.Shape.Should().Be(new Shape(2, 3));
        var expected = A.Select((a, i) => reference(a, B[i % 3])).ToArray();
        GradCheck.AssertClose(y.ToDoubleArray(), expected, 1e-12, 1e-12, name);
    }

    [TestCaseSource(nameof(BinaryCases))]
    public void Binary_gradient_with_broadcasting(string name, Func<Tensor, Tensor, Tensor> f, Func<double, double, double> reference)
    {
        _ = reference;
        GradCheck.Check(t => f(t[0], t[1]), Arg.Of([2, 3], A), Arg.Of([3], B));
    }

    [Test]
    public void Maximum_ties_split_the_gradient_like_libtorch()
    {
        using var s = TensorScope.Begin();
        double[] a = [1, 2, 3], b = [1, 5, 0];
        GradCheck.Check(t => Ops.Maximum(t[0], t[1]), 1e-6, 1e-5, 1e-7, Arg.Of([3], [0.0, 2, 3]), Arg.Of([3], [1.0, 5, 0]));
        using var tape = DualFramework.Autodiff.Autograd.UseTape();
        var x = Tensor.FromArray(a, new Shape(3));
        var y = Tensor.FromArray(b, new Shape(3));
        x.RequiresGrad = true;
        y.RequiresGrad = true;
        var g = DualFramework.Autodiff.Autograd.Grad([Ops.Sum(Ops.Maximum(x, y))], [x, y]);
        g[0]!.ToDoubleArray().Should().Equal(0.5, 0, 1);
        g[1]!.ToDoubleArray().Should().Equal(0.5, 1, 0);
    }

    [Test]
    public void Sign_is_not_differentiable_so_its_output_is_a_constant()
    {
        using var s = TensorScope.Begin();
        using var tape = DualFramework.Autodiff.Autograd.UseTape();
        var x = Tensor.FromArray(new[] { -2.0, 3.0 });
        x.RequiresGrad = true;
        Ops.Sign(x).RequiresGrad.Should().BeFalse();
        DualFramework.Operators.OpSet.Sign.IsDifferentiable.Should().BeFalse();
    }

    [Test]
    public void Comparisons_and_logical_ops()
    {
        using var s = TensorScope.Begin();
        var a = Tensor.FromArray(new[] { 1.0, 2, 3 });
        var b = Tensor.FromArray(new[] { 3.0, 2, 1 });
        Ops.Less(a, b).ToArray<bool>().Should().Equal(true, false, false);
        Ops.LessEqual(a, b).ToArray<bool>().Should().Equal(true, true, false);
        Ops.Greater(a, b).ToArray<bool>().Should().Equal(false, false, true);
        Ops.GreaterEqual(a, b).ToArray<bool>().Should().Equal(false, true, true);
        Ops.Equal(a, b).ToArray<bool>().Should().Equal(false, true, false);
        Ops.NotEqual(a, b).ToArray<bool>().Should().Equal(true, false, true);
        var p = Tensor.FromArray(new[] { true, true, false, false });
        var q = Tensor.FromArray(new[] { true, false, true, false });
        Ops.LogicalAnd(p, q).ToArray<bool>().Should().Equal(true, false, false, false);
        Ops.LogicalOr(p, q).ToArray<bool>().Should().Equal(true, true, true, false);
        Ops.LogicalXor(p, q).ToArray<bool>().Should().Equal(false, true, true, false);
        Ops.LogicalNot(p).ToArray<bool>().Should().Equal(false, false, true, true);
    }

    [Test]
    public void Where_selects_and_routes_gradients()
    {
        using var s = TensorScope.Begin();
        var c = Tensor.FromArray(new[] { true, false, true });
        var a = Tensor.FromArray(new[] { 1.0, 2, 3 });
        var b = Tensor.FromArray(new[] { 10.0 });
        Ops.Where(c, a, b).ToDoubleArray().Should().Equal(1, 10, 3);
        GradCheck.Check(t => Ops.Where(c, t[0], t[1]), Arg.Of([3], [1.0, 2, 3]), Arg.Of([1], [10.0]));
    }

    [Test]
    public void Cast_converts_and_passes_gradient_between_float_types()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(new[] { -1.7, 0.0, 2.9 });
        Ops.Cast(x, DType.Int32).ToArray<int>().Should().Equal(-1, 0, 2);
        Ops.Cast(x, DType.Bool).ToArray<bool>().Should().Equal(true, false, true);
        Ops.Cast(x, DType.Float16).ToArray<Half>().Select(h => (double)h).Should().Equal(-1.7001953125, 0, 2.900390625);
        GradCheck.Check(t => Ops.Mul(Ops.Cast(t[0], DType.Float32), 3.0), 1e-3, 1e-3, 1e-5, Arg.Of([3], [-1.5, 0.25, 2.0]));
    }
}
