using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;


/// <summary>The math ops (trigonometric, hyperbolic, rounding, remainders, product, cumulative sum): forward values against
/// System.Math / plain loops, gradients against finite differences and libtorch, and argument errors.</summary>
[TestFixture]
public class MathTests
{
    private static readonly double[] Unit = [-0.9, -0.4, 0.0, 0.3, 0.85];
    private static readonly double[] Wide = [-2.5, -1.0, 0.0, 0.7, 2.2];

    public static IEnumerable<TestCaseData> UnaryCases()
    {
        yield return new TestCaseData("cos", (Func<Tensor, Tensor>)Ops.Cos, (Func<double, double>)Math.Cos, Wide);
        yield return new TestCaseData("sin", (Func<Tensor, Tensor>)Ops.Sin, (Func<double, double>)Math.Sin, Wide);
        yield return new TestCaseData("tan", (Func<Tensor, Tensor>)Ops.Tan, (Func<double, double>)Math.Tan, Unit);
        yield return new TestCaseData("asin", (Func<Tensor, Tensor>)Ops.Asin, (Func<double, double>)Math.Asin, Unit);
        yield return new TestCaseData("acos", (Func<Tensor, Tensor>)Ops.Acos, (Func<double, double>)Math.Acos, Unit);
        yield return new TestCaseData("atan", (Func<Tensor, Tensor>)Ops.Atan, (Func<double, double>)Math.Atan, Wide);
        yield return new TestCaseData("sinh", (Func<Tensor, Tensor>)Ops.Sinh, (Func<double, double>)Math.Sinh, Wide);
        yield return new TestCaseData("cosh", (Func<Tensor, Tensor>)Ops.Cosh, (Func<double, double>)Math.Cosh, Wide);
        yield return new TestCaseData("asinh", (Func<Tensor, Tensor>)Ops.Asinh, (Func<double, double>)Math.Asinh, Wide);
        yield return new TestCaseData("acosh", (Func<Tensor, Tensor>)Ops.Acosh, (Func<double, double>)Math.Acosh, new[] { 1.0, 1.5, 2.0, 4.0 });
        yield return new TestCaseData("atanh", (Func<Tensor, Tensor>)Ops.Atanh, (Func<double, double>)Math.Atanh, Unit);
        yield return new TestCaseData("floor", (Func<Tensor, Tensor>)Ops.Floor, (Func<double, double>)Math.Floor, new[] { -1.5, -0.2, 0.0, 0.7, 2.0 });
        yield return new TestCaseData("ceil", (Func<Tensor, Tensor>)Ops.Ceil, (Func<double, double>)Math.Ceiling, new[] { -1.5, -0.2, 0.0, 0.7, 2.0 });
        // Halves go to the even neighbour.
        yield return new TestCaseData("round", (Func<Tensor, Tensor>)Ops.Round, (Func<double, double>)(v => Math.Round(v, MidpointRounding.ToEven)),
            new[] { -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49, -0.51 });
    }

    [TestCaseSource(nameof(UnaryCases))]
    public void Unary_forward_matches_System_Math(string name, Func<Tensor, Tensor> op, Func<double, double> reference, double[] x)
    {
        using var s = TensorScope.Begin();
        var y = op(Tensor.FromArray(x, new Shape(x.Length)));
        y.DType.Should().Be(DType.Float64);
        GradCheck.AssertClose(y.ToDoubleArray(), x.Select(reference).ToArray(), 1e-12, 1e-12, name);
    }

    [Test]
    public void Integer_operands_of_floating_math_ops_become_float32()
    {
        using var s = TensorScope.Begin();
        var y = Ops.Cos(Tensor.FromArray(new long[] { 0, 1 }));
        y.DType.Should().Be(DType.Float32);
        GradCheck.AssertClose(y.ToDoubleArray(), [1, Math.Cos(1)], 1e-6, 1e-7, "cos of int64");
    }

    [Test]
    public void Remainder_has_the_divisors_sign_and_fmod_the_dividends()
    {
        using var s = TensorScope.Begin();
        long[] a = [7, -7, 7, -7, 0, 6], b = [3, 3, -3, -3, 5, 3];
        var ta = Tensor.FromArray(a);
        var tb = Tensor.FromArray(b);
        Ops.Remainder(ta, tb).ToArray<long>().Should().Equal(a.Zip(b, (p, q) => ((p % q) + q) % q));
        Ops.Fmod(ta, tb).ToArray<long>().Should().Equal(a.Zip(b, (p, q) => p % q));
        double[] fa = [5.5, -5.5, 5.5, -5.5], fb = [2, 2, -2, -2];
        GradCheck.AssertClose(Ops.Remainder(Tensor.FromArray(fa), Tensor.FromArray(fb)).ToDoubleArray(),
            fa.Zip(fb, (p, q) => p - q * Math.Floor(p / q)).ToArray(), 1e-12, 1e-12, "float remainder");
        GradCheck.AssertClose(Ops.Fmod(Tensor.FromArray(fa), Tensor.FromArray(fb)).ToDoubleArray(),
            fa.Select((p, i) => p - fb[i] * Math.Truncate(p / fb[i])).ToArray(), 1e-12, 1e-12, "float fmod");
    }

    [Test]
    public void Prod_forward_matches_loops_and_keeps_the_dtype()
    {
        using var s = TensorScope.Begin();
        double[] x = [1.5, -2, 0.5, 3, 1, -1, 2, 2, 0.25, -4, 1, 0.5];
        var t = Tensor.FromArray(x, new Shape(2, 3, 2));
        var y = Ops.Prod(t, [0, 2], keepDims: false);
        y.Shape.Should().Be(new Shape(3));
        var want = new double[3];
        for (int j = 0; j < 3; j++)
        {
            want[j] = 1;
            for (int i = 0; i < 2; i++)
                for (int k = 0; k < 2; k++) want[j] *= x[i * 6 + j * 2 + k];
        }
        GradCheck.AssertClose(y.ToDoubleArray(), want, 1e-12, 1e-12, "prod");
        Ops.Prod(t).ToDoubleArray().Should().Equal(x.Aggregate(1.0, (p, v) => p * v));
        var ints = Ops.Prod(Tensor.FromArray(new[] { 2, -3, 4 }), keepDims: true);
        ints.DType.Should().Be(DType.Int32);
        ints.Shape.Should().Be(new Shape(1));
        ints.ToArray<int>().Should().Equal(-24);
    }

    [Test]
    public void CumSum_forward_matches_loops_in_all_four_modes()
    {
        using var s = TensorScope.Begin();
        double[] x = [1, 2, 3, 4, 10, 20, 30, 40];
        var t = Tensor.FromArray(x, new Shape(2, 4));
        foreach (var (exclusive, reverse) in new[] { (false, false), (true, false), (false, true), (true, true) })
        {
            var want = new double[8];
            for (int r = 0; r < 2; r++)
                for (int j = 0; j < 4; j++)
                    for (int k = 0; k < 4; k++)
                    {
                        bool take = reverse ? (exclusive ? k > j : k >= j) : (exclusive ? k < j : k <= j);
                        if (take) want[r * 4 + j] += x[r * 4 + k];
                    }
            Ops.CumSum(t, -1, exclusive, reverse).ToDoubleArray().Should().Equal(want, $"exclusive={exclusive}, reverse={reverse}");
        }
        var ints = Ops.CumSum(Tensor.FromArray(new[] { 1, 2, 3 }), 0, exclusive: true);
        ints.DType.Should().Be(DType.Int32);
        ints.ToArray<int>().Should().Equal(0, 1, 3);
    }

    [Test]
    public void Prod_gradient_handles_zeros()
    {
        // No zero, one zero and two zeros in a reduced row.
        GradCheck.Check(t => Ops.Prod(t[0], [1]), Arg.Of([3, 3], [0.5, 1.5, -2, 0, 1.5, 2, 0, 3, 0]));
        GradCheck.Check(t => Ops.Prod(t[0], keepDims: true), Arg.Of([2, 2], [0.5, 0, -1.5, 2]));
    }

    [Test]
    public void CumSum_and_remainder_gradients()
    {
        GradCheck.Check(t => Ops.CumSum(t[0], 0), Arg.Random(90, -1, 1, 3, 2));
        GradCheck.Check(t => Ops.CumSum(t[0], 1, exclusive: true), Arg.Random(91, -1, 1, 2, 3));
        GradCheck.Check(t => Ops.CumSum(t[0], 1, reverse: true), Arg.Random(92, -1, 1, 2, 3));
        GradCheck.Check(t => Ops.Remainder(t[0], t[1]), Arg.Of([2, 2], [3.3, -3.3, 0.7, 5.1]), Arg.Of([2], [2.0, -1.5]));
        GradCheck.Check(t => Ops.Fmod(t[0], t[1]), Arg.Of([2, 2], [3.3, -3.3, 0.7, 5.1]), Arg.Of([2], [2.0, -1.5]));
    }

    [Test]
    public void Rounding_ops_do_not_pass_gradients()
    {
        foreach (var op in new DualFramework.Operators.Op[] { DualFramework.Operators.OpSet.Floor, DualFramework.Operators.OpSet.Ceil, DualFramework.Operators.OpSet.Round })
            op.IsDifferentiable.Should().BeFalse(op.Name);
    }

    [Test]
    public void Bad_arguments_throw_OpException()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(new double[6], new Shape(2, 3));
        FluentActions.Invoking(() => Ops.CumSum(x, 2)).Should().Throw<OpException>().WithMessage("*cumsum*axis 2 is out of range for rank 2*");
        FluentActions.Invoking(() => Ops.CumSum(Tensor.FromArray(new double[] { 1 }, Shape.Scalar), 0)).Should().Throw<OpException>().WithMessage("*out of range*");
        FluentActions.Invoking(() => Ops.Prod(x, [0, -2])).Should().Throw<OpException>().WithMessage("*axis 0 repeated*");
        FluentActions.Invoking(() => Ops.Prod(Tensor.FromArray(new[] { true, false }))).Should().Throw<OpException>().WithMessage("*prod*bool*");
        FluentActions.Invoking(() => Ops.Remainder(Tensor.FromArray(new[] { true }), Tensor.FromArray(new[] { true }))).Should().Throw<OpException>().WithMessage("*remainder*bool*");
        FluentActions.Invoking(() => Ops.CumSum(Tensor.FromArray(new[] { true, false }), 0)).Should().Throw<OpException>().WithMessage("*cumsum*bool*");
    }
}
