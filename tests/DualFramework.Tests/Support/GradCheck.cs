using DualFramework.Autodiff;
using FluentAssertions;

namespace DualFramework.Tests.Support;

/// <summary>An input of a gradient check: float64 values and a shape.</summary>
public sealed record Arg(double[] Data, long[] Shape)
{
    public static Arg Of(long[] shape, double[] data) => new(data, shape);

    /// <summary>Seeded uniform values in [lo, hi).</summary>
    public static Arg Random(int seed, double lo, double hi, params long[] shape)
    {
        var rng = new Random(seed);
        long n = 1;
        foreach (var d in shape) n *= d;
        var data = new double[n];
        for (int i = 0; i < n; i++) data[i] = lo + (hi - lo) * rng.NextDouble();
        return new Arg(data, shape);
    }

    public Tensor ToTensor() => Tensor.FromArray(Data, new Shape(Shape));

    /// <summary>The values as a float32 tensor on <paramref name="backend"/>.</summary>
    public Tensor ToFloat32(DualFramework.Backends.IComputeBackend backend) =>
        Tensor.FromArray(Data.Select(v => (float)v).ToArray(), new Shape(Shape), backend);
}

/// <summary>
/// Checks an op's gradient rule twice: against float64 central finite differences and against libtorch autograd on the same
/// inputs. The function's output is reduced to a scalar with a fixed random cotangent, so every output element counts.
/// </summary>
public static class GradCheck
{
    public static void Check(Func<Tensor[], Tensor> f, params Arg[] args) => Check(f, 1e-6, 1e-5, 1e-7, args);

    public static void Check(Func<Tensor[], Tensor> f, double eps, double rtol, double atol, params Arg[] args)
    {
        using var scope = TensorScope.Begin();
        double[] cot;
        {
            var y0 = f(args.Select(a => a.ToTensor()).ToArray());
            var rng = new Random(1234);
            cot = Enumerable.Range(0, (int)y0.NumElements).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        }
        var cotShape = new Func<Shape>(() => f(args.Select(a => a.ToTensor()).ToArray()).Shape)();

        double Loss(Arg[] xs)
        {
            using var s = TensorScope.Begin();
            using var ng = Autograd.NoGrad();
            var y = f(xs.Select(a => a.ToTensor()).ToArray());
            var c = Tensor.FromArray(cot, cotShape);
            return Ops.Sum(Ops.Mul(Ops.Cast(y, DType.Float64), c)).Item();
        }

        double[][] Analytic(bool tape)
        {
            using var s = TensorScope.Begin();
            using var mode = tape ? Autograd.UseTape() : null;
            var xs = args.Select(a => a.ToTensor()).ToArray();
            foreach (var x in xs) x.RequiresGrad = true;
            var y = f(xs);
            var c = Tensor.FromArray(cot, cotShape);
            var loss = Ops.Sum(Ops.Mul(Ops.Cast(y, DType.Float64), c));
            var g = Autograd.Grad([loss], xs);
            return g.Select((t, i) => t == null ? new double[args[i].Data.Length] : t.ToDoubleArray()).ToArray();
        }

        var rules = Analytic(tape: true);
        var native = Analytic(tape: false);
        for (int i = 0; i < args.Length; i++)
        {
            var numeric = new double[args[i].Data.Length];
            for (int j = 0; j < numeric.Length; j++)
            {
                var plus = args.Select(a => a with { Data = (double[])a.Data.Clone() }).ToArray();
                var minus = args.Select(a => a with { Data = (double[])a.Data.Clone() }).ToArray();
                plus[i].Data[j] += eps;
                minus[i].Data[j] -= eps;
                numeric[j] = (Loss(plus) - Loss(minus)) / (2 * eps);
            }
            AssertClose(rules[i], numeric, rtol, atol, $"input {i}: gradient rule vs finite differences");
            AssertClose(rules[i], native[i], 1e-9, 1e-12, $"input {i}: gradient rule vs libtorch autograd");
        }
    }

    /// <summary>Central differences (step <paramref name="h"/>) of the float64 function <paramref name="f"/> at <paramref name="v"/>.</summary>
    public static double[] Numeric(double[] v, Func<double[], double> f, double h = 1e-6) => v.Select((_, i) =>
    {
        var p = (double[])v.Clone();
        var m = (double[])v.Clone();
        p[i] += h;
        m[i] -= h;
        return (f(p) - f(m)) / (2 * h);
    }).ToArray();

    public static void AssertClose(double[] actual, double[] expected, double rtol, double atol, string because)
    {
        actual.Length.Should().Be(expected.Length, because);
        for (int k = 0; k < actual.Length; k++)
        {
            double tol = atol + rtol * Math.Abs(expected[k]);
            if (double.IsNaN(expected[k])) { double.IsNaN(actual[k]).Should().BeTrue($"{because} at {k}"); continue; }
            Math.Abs(actual[k] - expected[k]).Should().BeLessThanOrEqualTo(tol, $"{because} at element {k}: {actual[k]} vs {expected[k]}");
        }
    }

    public static void AssertClose(float[] actual, double[] expected, double rtol, double atol, string because) =>
        AssertClose(actual.Select(v => (double)v).ToArray(), expected, rtol, atol, because);
}
