using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;


[TestFixture]
public class NormTests
{
    // Reference batch norm with plain loops; x viewed as [N, C, S].
    private static (double[] y, double[] mean, double[] varBiased, double[] varUnbiased) BatchNormRef(
        double[] x, long[] shape, double[] gamma, double[] beta, double[]? rm, double[]? rv, double eps)
    {
        int n = (int)shape[0], c = (int)shape[1];
        int s = (int)(shape.Skip(2).Aggregate(1L, (p, d) => p * d));
        var mean = new double[c];
        var vb = new double[c];
        var vu = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
                for (int k = 0; k < s; k++) sum += x[(i * c + ch) * s + k];
            double m = sum / (n * s), sq = 0;
            for (int i = 0; i < n; i++)
                for (int k = 0; k < s; k++) sq += Math.Pow(x[(i * c + ch) * s + k] - m, 2);
            mean[ch] = m;
            vb[ch] = sq / (n * s);
            vu[ch] = sq / (n * s - 1);
        }
        var y = new double[x.Length];
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                for (int k = 0; k < s; k++)
                {
                    int j = (i * c + ch) * s + k;
                    double mu = rm == null ? mean[ch] : rm[ch], v = rv == null ? vb[ch] : rv[ch];
                    y[j] = (x[j] - mu) / Math.Sqrt(v + eps) * gamma[ch] + beta[ch];
                }
        return (y, mean, vb, vu);
    }

    private static double[] Rand(int seed, int n, double lo, double hi) => Arg.Random(seed, lo, hi, n).Data;

    public static IEnumerable<long[]> BnShapes()
    {
        yield return [6, 3];
        yield return [2, 3, 4];
        yield return [2, 2, 3, 2];
        yield return [2, 2, 2, 1, 2];
    }

    [TestCaseSource(nameof(BnShapes))]
    public void BatchNorm_training_normalises_with_batch_statistics(long[] shape)
    {
        using var s = TensorScope.Begin();
        int c = (int)shape[1];
        var xd = Rand(1, (int)new Shape(shape).NumElements, -2, 3);
        var gd = Rand(2, c, 0.5, 1.5);
        var bd = Rand(3, c, -1, 1);
        var (y, mean, _, vu) = BatchNormRef(xd, shape, gd, bd, null, null, 1e-5);
        var x = Tensor.FromArray(xd, new Shape(shape));
        var (yt, mt, vt) = Ops.BatchNormWithStats(x, Tensor.FromArray(gd), Tensor.FromArray(bd), Ops.Zeros(new Shape(c), DType.Float64),
            Ops.Ones(new Shape(c), DType.Float64), training: true);
        yt.Shape.Should().Be(new Shape(shape));
        GradCheck.AssertClose(yt.ToDoubleArray(), y, 1e-9, 1e-12, "y");
        GradCheck.AssertClose(mt.ToDoubleArray(), mean, 1e-12, 1e-12, "batch mean");
        GradCheck.AssertClose(vt.ToDoubleArray(), vu, 1e-12, 1e-12, "unbiased batch variance");
        // Without running statistics and affine parameters.
        var (y0, _, _, _) = BatchNormRef(xd, shape, Enumerable.Repeat(1.0, c).ToArray(), new double[c], null, null, 1e-3);
        GradCheck.AssertClose(Ops.BatchNorm(x, null, null, null, null, training: true, eps: 1e-3).ToDoubleArray(), y0, 1e-9, 1e-12, "y without parameters");
    }

    [Test]
    public void BatchNorm_inference_uses_running_statistics_and_returns_them()
    {
        using var s = TensorScope.Begin();
        long[] shape = [2, 3, 2];
        var xd = Rand(4, 12, -2, 2);
        double[] gd = [1.5, 0.5, -1], bd = [0.1, 0.2, 0.3], rmd = [0.5, -0.25, 1], rvd = [2, 0.5, 1.5];
        var (y, _, _, _) = BatchNormRef(xd, shape, gd, bd, rmd, rvd, 1e-2);
        var rm = Tensor.FromArray(rmd);
        var rv = Tensor.FromArray(rvd);
        var (yt, mt, vt) = Ops.BatchNormWithStats(Tensor.FromArray(xd, new Shape(shape)), Tensor.FromArray(gd), Tensor.FromArray(bd), rm, rv, training: false, eps: 1e-2);
        GradCheck.AssertClose(yt.ToDoubleArray(), y, 1e-12, 1e-12, "y");
        mt.ToDoubleArray().Should().Equal(rmd);
        vt.ToDoubleArray().Should().Equal(rvd);
    }

    [Test]
    public void BatchNorm_updates_running_statistics_functionally()
    {
        using var s = TensorScope.Begin();
        long[] shape = [4, 2, 3];
        var xd = Rand(5, 24, -1, 4);
        double[] rmd = [0.3, -0.2], rvd = [1.2, 0.8];
        var (y, mean, _, vu) = BatchNormRef(xd, shape, [1, 1], [0, 0], null, null, 1e-5);
        var x = Tensor.FromArray(xd, new Shape(shape));
        var rm = Tensor.FromArray(rmd);
        var rv = Tensor.FromArray(rvd);
        var yt = Ops.BatchNorm(x, null, null, rm, rv, training: true, momentum: 0.1, eps: 1e-5, out var nm, out var nv);
        GradCheck.AssertClose(yt.ToDoubleArray(), y, 1e-9, 1e-12, "y");
        GradCheck.AssertClose(nm.ToDoubleArray(), rmd.Select((r, i) => 0.9 * r + 0.1 * mean[i]).ToArray(), 1e-12, 1e-12, "new running mean");
        GradCheck.AssertClose(nv.ToDoubleArray(), rvd.Select((r, i) => 0.9 * r + 0.1 * vu[i]).ToArray(), 1e-12, 1e-12, "new running var");
        rm.ToDoubleArray().Should().Equal(rmd, "the inputs are never modified");
        rv.ToDoubleArray().Should().Equal(rvd);

        // float32 running statistics stay float32 when x is float64.
        var rm32 = Tensor.FromArray(new float[] { 0.3f, -0.2f });
        var rv32 = Tensor.FromArray(new float[] { 1.2f, 0.8f });
        Ops.BatchNorm(x, null, null, rm32, rv32, true, 0.5, 1e-5, out var nm32, out _);
        nm32.DType.Should().Be(DType.Float32);
        GradCheck.AssertClose(nm32.ToDoubleArray(), new[] { 0.5 * 0.3f + 0.5 * mean[0], 0.5 * -0.2f + 0.5 * mean[1] }, 1e-6, 1e-6, "float32 running mean");

        // Inference hands the running statistics back unchanged.
        Ops.BatchNorm(x, null, null, rm, rv, false, 0.1, 1e-5, out var im, out var iv);
        im.Should().BeSameAs(rm);
        iv.Should().BeSameAs(rv);
    }

    [Test]
    public void BatchNorm_running_stat_update_carries_no_gradient()
    {
        using var s = TensorScope.Begin();
        using var tape = DualFramework.Autodiff.Autograd.UseTape();
        var x = Tensor.FromArray(Rand(6, 12, -1, 1), new Shape(4, 3));
        x.RequiresGrad = true;
        var y = Ops.BatchNorm(x, null, null, Ops.Zeros(new Shape(3), DType.Float64), Ops.Ones(new Shape(3), DType.Float64), true, 0.1, 1e-5, out var nm, out _);
        var g = DualFramework.Autodiff.Autograd.Grad([Ops.Sum(Ops.Mul(y, y))], [x]);
        g[0].Should().NotBeNull();
        nm.RequiresGrad.Should().BeFalse();
    }

    [TestCase(true)]
    [TestCase(false)]
    public void BatchNorm_gradient_in_both_modes(bool training)
    {
        using var s = TensorScope.Begin();
        var rm = Tensor.FromArray(new[] { 0.2, -0.4, 0.1 });
        var rv = Tensor.FromArray(new[] { 1.5, 0.7, 2.0 });
        GradCheck.Check(t => Ops.BatchNorm(t[0], t[1], t[2], rm, rv, training, 1e-3),
            Arg.Random(7, -2, 2, 2, 3, 4), Arg.Random(8, 0.5, 1.5, 3), Arg.Random(9, -1, 1, 3));
        GradCheck.Check(t => Ops.BatchNorm(t[0], t[1], t[2], rm, rv, training, 1e-3),
            Arg.Random(10, -2, 2, 5, 3), Arg.Random(11, 0.5, 1.5, 3), Arg.Random(12, -1, 1, 3));
    }

    [Test]
    public void BatchNorm_rejects_bad_arguments()
    {
        using var s = TensorScope.Begin();
        var c3 = Ops.Ones(new Shape(3), DType.Float64);
        var x = Ops.Ones(new Shape(2, 3), DType.Float64);
        Action rank1 = () => Ops.BatchNorm(Ops.Ones(new Shape(3), DType.Float64), null, null, null, null, true);
        rank1.Should().Throw<OpException>().WithMessage("*rank 2 to 5*");
        Action rank6 = () => Ops.BatchNorm(Ops.Ones(new Shape(2, 3, 1, 1, 1, 1), DType.Float64), null, null, null, null, true);
        rank6.Should().Throw<OpException>().WithMessage("*rank 2 to 5*");
        Action gamma = () => Ops.BatchNorm(x, Ops.Ones(new Shape(4), DType.Float64), null, null, null, true);
        gamma.Should().Throw<OpException>().WithMessage("*gamma must have shape [3]*");
        Action rv = () => Ops.BatchNorm(x, null, null, c3, Ops.Ones(new Shape(3, 1), DType.Float64), false);
        rv.Should().Throw<OpException>().WithMessage("*running_var must have shape [3]*");
        Action single = () => Ops.BatchNorm(Ops.Ones(new Shape(1, 3), DType.Float64), null, null, null, null, true);
        single.Should().Throw<OpException>().WithMessage("*more than 1 value per channel*");
        Action noStats = () => Ops.BatchNorm(x, null, null, null, null, false);
        noStats.Should().Throw<OpException>().WithMessage("*needs running_mean and running_var*");
        Action eps = () => Ops.BatchNorm(x, null, null, null, null, true, -1e-5);
        eps.Should().Throw<OpException>().WithMessage("*eps*");
        Action momentum = () => Ops.BatchNorm(x, null, null, c3, c3, true, 1.5, 1e-5, out _, out _);
        momentum.Should().Throw<OpException>().WithMessage("*momentum*");
    }

    // Reference layer norm over the last m elements (a flattened trailing block).
    private static double[] LayerNormRef(double[] x, int m, double[]? w, double[]? b, double eps)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / m; r++)
        {
            double mean = 0, v = 0;
            for (int k = 0; k < m; k++) mean += x[r * m + k];
            mean /= m;
            for (int k = 0; k < m; k++) v += Math.Pow(x[r * m + k] - mean, 2);
            v /= m;
            for (int k = 0; k < m; k++)
                y[r * m + k] = (x[r * m + k] - mean) / Math.Sqrt(v + eps) * (w?[k] ?? 1) + (b?[k] ?? 0);
        }
        return y;
    }

    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(true, true)]
    public void LayerNorm_forward_over_trailing_axes(bool weight, bool bias)
    {
        using var s = TensorScope.Begin();
        var xd = Rand(20, 24, -3, 3);
        var wd = Rand(21, 6, 0.5, 2);
        var bd = Rand(22, 6, -1, 1);
        var x = Tensor.FromArray(xd, new Shape(2, 2, 3, 2));
        var w = weight ? Tensor.FromArray(wd, new Shape(3, 2)) : null;
        var b = bias ? Tensor.FromArray(bd, new Shape(3, 2)) : null;
        var y = Ops.LayerNorm(x, 2, w, b, 1e-4);
        y.Shape.Should().Be(x.Shape);
        GradCheck.AssertClose(y.ToDoubleArray(), LayerNormRef(xd, 6, weight ? wd : null, bias ? bd : null, 1e-4), 1e-9, 1e-12, "y");
        GradCheck.AssertClose(Ops.LayerNorm(x, new Shape(3, 2), w, b, 1e-4).ToDoubleArray(), y.ToDoubleArray(), 0, 0, "shape overload");
        // One trailing axis.
        GradCheck.AssertClose(Ops.LayerNorm(x, 1).ToDoubleArray(), LayerNormRef(xd, 2, null, null, 1e-5), 1e-9, 1e-12, "k = 1");
    }

    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(true, true)]
    public void LayerNorm_gradient(bool weight, bool bias)
    {
        var args = new List<Arg> { Arg.Random(30, -2, 2, 2, 3, 4) };
        if (weight) args.Add(Arg.Random(31, 0.5, 1.5, 3, 4));
        if (bias) args.Add(Arg.Random(32, -1, 1, 3, 4));
        GradCheck.Check(t => Ops.LayerNorm(t[0], 2, weight ? t[1] : null, bias ? t[weight ? 2 : 1] : null, 1e-3), args.ToArray());
        GradCheck.Check(t => Ops.LayerNorm(t[0], 1, weight ? Ops.Reshape(Ops.Slice(t[1], 0, 0, 1), 4) : null, null), args.Take(weight ? 2 : 1).ToArray());
    }

    [Test]
    public void LayerNorm_rejects_bad_arguments()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Ones(new Shape(2, 3), DType.Float64);
        Action zero = () => Ops.LayerNorm(x, 0);
        zero.Should().Throw<OpException>().WithMessage("*normalized rank 0*");
        Action big = () => Ops.LayerNorm(x, 3);
        big.Should().Throw<OpException>().WithMessage("*normalized rank 3*");
        Action w = () => Ops.LayerNorm(x, 1, Ops.Ones(new Shape(2), DType.Float64));
        w.Should().Throw<OpException>().WithMessage("*weight must have the normalized shape [3]*");
        Action b = () => Ops.LayerNorm(x, 2, null, Ops.Ones(new Shape(3), DType.Float64));
        b.Should().Throw<OpException>().WithMessage("*bias must have the normalized shape [2, 3]*");
        Action shape = () => Ops.LayerNorm(x, new Shape(2));
        shape.Should().Throw<OpException>().WithMessage("*does not match*");
        Action eps = () => Ops.LayerNorm(x, 1, eps: double.NaN);
        eps.Should().Throw<OpException>().WithMessage("*eps*");
    }
}
