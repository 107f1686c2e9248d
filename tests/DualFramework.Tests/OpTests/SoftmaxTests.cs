using DualFramework.Operators;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;


[TestFixture]
public class SoftmaxTests
{
    private static readonly long[] Shape3 = [2, 3, 4];

    // Plain-loop reference along `axis` of a row-major [outer, n, inner] view; subtracts the max for stability.
    private static double[] Reference(double[] data, long[] shape, int axis, bool log)
    {
        long outer = shape.Take(axis).Aggregate(1L, (a, b) => a * b), n = shape[axis], inner = shape.Skip(axis + 1).Aggregate(1L, (a, b) => a * b);
        var r = new double[data.Length];
        for (long o = 0; o < outer; o++)
            for (long i = 0; i < inner; i++)
            {
                long At(long k) => (o * n + k) * inner + i;
                double m = double.NegativeInfinity;
                for (long k = 0; k < n; k++) m = Math.Max(m, data[At(k)]);
                double z = 0;
                for (long k = 0; k < n; k++) z += Math.Exp(data[At(k)] - m);
                for (long k = 0; k < n; k++) r[At(k)] = log ? data[At(k)] - m - Math.Log(z) : Math.Exp(data[At(k)] - m) / z;
            }
        return r;
    }

    private static Tensor Apply(bool log, Tensor x, int axis) => log ? Ops.LogSoftmax(x, axis) : Ops.Softmax(x, axis);

    [Test]
    public void Forward_matches_loops_on_every_axis([Values(false, true)] bool log, [Values(0, 1, 2, -1)] int axis)
    {
        using var s = TensorScope.Begin();
        var data = Arg.Random(5, -3, 3, Shape3).Data;
        var y = Apply(log, Tensor.FromArray(data, new Shape(Shape3)), axis);
        y.Shape.Should().Be(new Shape(Shape3));
        y.DType.Should().Be(DType.Float64);
        GradCheck.AssertClose(y.ToDoubleArray(), Reference(data, Shape3, axis < 0 ? axis + 3 : axis, log), 1e-12, 1e-14, $"log={log} axis={axis}");
    }

    [Test]
    public void Hand_computed_values_and_large_inputs_are_stable()
    {
        using var s = TensorScope.Begin();
        // softmax([0, ln 3]) = [1/4, 3/4]; adding 1000 must not overflow.
        var x = Tensor.FromArray(new[] { 0.0, Math.Log(3), 1000.0, 1000.0 + Math.Log(3) }, new Shape(2, 2));
        GradCheck.AssertClose(Ops.Softmax(x).ToDoubleArray(), [0.25, 0.75, 0.25, 0.75], 1e-12, 1e-12, "softmax");
        GradCheck.AssertClose(Ops.LogSoftmax(x).ToDoubleArray(), [Math.Log(0.25), Math.Log(0.75), Math.Log(0.25), Math.Log(0.75)], 1e-12, 1e-12, "log_softmax");
        var f32 = Ops.Softmax(Tensor.FromArray(new[] { -1000f, 0f, 1000f }, new Shape(3)));
        f32.DType.Should().Be(DType.Float32);
        f32.ToDoubleArray().Should().Equal(0, 0, 1);
        // Integer input is computed in float32: softmax of equal values is uniform.
        var fromInt = Ops.Softmax(Tensor.FromArray(new[] { 2, 2, 2, 2 }, new Shape(4)));
        fromInt.DType.Should().Be(DType.Float32);
        fromInt.ToDoubleArray().Should().Equal(0.25, 0.25, 0.25, 0.25);
        // A size-1 axis gives 1 (log: 0).
        Ops.Softmax(Tensor.FromArray(new[] { 5.0, -7.0 }, new Shape(2, 1))).ToDoubleArray().Should().Equal(1, 1);
        Ops.LogSoftmax(Tensor.FromArray(new[] { 5.0, -7.0 }, new Shape(2, 1))).ToDoubleArray().Should().Equal(0, 0);
    }

    [Test]
    public void Half_precision_inputs_keep_their_dtype([Values(DType.Float16, DType.BFloat16)] DType dtype, [Values(false, true)] bool log)
    {
        using var s = TensorScope.Begin();
        double[] data = [0.5, -1, 2, 0.25, 0, 0];
        var y = Apply(log, Ops.Cast(Tensor.FromArray(data, new Shape(2, 3)), dtype), 1);
        y.DType.Should().Be(dtype);
        GradCheck.AssertClose(y.ToDoubleArray(), Reference(data, [2, 3], 1, log), 1e-2, 1e-2, dtype.Name());
    }

    [Test]
    public void Gradient_matches_finite_differences_and_autograd([Values(false, true)] bool log, [Values(0, 1, -1)] int axis)
    {
        GradCheck.Check(t => Apply(log, t[0], axis), Arg.Random(9, -2, 2, Shape3));
    }

    [Test]
    public void Gradient_through_a_composition()
    {
        // Second-order use of the output (y·y) makes the output gradient non-constant.
        GradCheck.Check(t => Ops.Mul(Ops.Softmax(t[0], 0), Ops.LogSoftmax(t[0], 1)), Arg.Random(10, -1, 1, 3, 2));
    }

    [Test]
    public void Errors()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Zeros(new Shape(2, 3));
        FluentActions.Invoking(() => Ops.Softmax(x, 2)).Should().Throw<OpException>().WithMessage("softmax*axis 2 is out of range*");
        FluentActions.Invoking(() => Ops.LogSoftmax(x, -3)).Should().Throw<OpException>().WithMessage("log_softmax*out of range*");
        FluentActions.Invoking(() => Ops.Softmax(Tensor.Scalar(1.0))).Should().Throw<OpException>().WithMessage("softmax*rank at least 1*");
        FluentActions.Invoking(() => Dispatcher.Apply(OpSet.Softmax, new SoftmaxAttrs(0), Ops.Cast(x, DType.Int32)))
            .Should().Throw<OpException>().WithMessage("softmax*floating*");
        FluentActions.Invoking(() => Dispatcher.Apply(OpSet.LogSoftmax, new SoftmaxAttrs(-1), x))
            .Should().Throw<OpException>().WithMessage("log_softmax*axis -1*");
        FluentActions.Invoking(() => Dispatcher.Apply(OpSet.Softmax, new SoftmaxAttrs(0), Tensor.Scalar(1.0)))
            .Should().Throw<OpException>().WithMessage("softmax*rank at least 1*");
    }
}
