using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;


[TestFixture]
public class PoolTests
{
    private static long OutSize(long n, long k, long s, long p, long d, bool ceil)
    {
        long span = d * (k - 1) + 1;
        long o = ceil ? (n + 2 * p - span + s - 1) / s + 1 : (n + 2 * p - span) / s + 1;
        if (ceil && (o - 1) * s >= n + p) o--;
        return o;
    }

    private static (double[] Values, long[] Indices, long[] Shape) NaiveMax(double[] x, long[] xs, long[] k, long[] s, long[] p, long[] d, bool ceil)
    {
        long n = xs[0], c = xs[1], h = xs[2], w = xs[3];
        long oh = OutSize(h, k[0], s[0], p[0], d[0], ceil), ow = OutSize(w, k[1], s[1], p[1], d[1], ceil);
        var v = new double[n * c * oh * ow];
        var idx = new long[v.Length];
        for (long pl = 0; pl < n * c; pl++)
            for (long i = 0; i < oh; i++)
                for (long j = 0; j < ow; j++)
                {
                    double best = double.NegativeInfinity;
                    long at = -1;
                    for (long a = 0; a < k[0]; a++)
                        for (long b = 0; b < k[1]; b++)
                        {
                            long ih = i * s[0] - p[0] + a * d[0], iw = j * s[1] - p[1] + b * d[1];
                            if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                            double val = x[pl * h * w + ih * w + iw];
                            if (val > best) { best = val; at = ih * w + iw; }
                        }
                    v[(pl * oh + i) * ow + j] = best;
                    idx[(pl * oh + i) * ow + j] = at;
                }
        return (v, idx, [n, c, oh, ow]);
    }

    private static (double[] Values, long[] Shape) NaiveAvg(double[] x, long[] xs, long[] k, long[] s, long[] p, bool includePad)
    {
        long n = xs[0], c = xs[1], h = xs[2], w = xs[3];
        long oh = (h + 2 * p[0] - k[0]) / s[0] + 1, ow = (w + 2 * p[1] - k[1]) / s[1] + 1;
        var v = new double[n * c * oh * ow];
        for (long pl = 0; pl < n * c; pl++)
            for (long i = 0; i < oh; i++)
                for (long j = 0; j < ow; j++)
                {
                    double sum = 0;
                    long count = 0;
                    for (long a = 0; a < k[0]; a++)
                        for (long b = 0; b < k[1]; b++)
                        {
                            long ih = i * s[0] - p[0] + a, iw = j * s[1] - p[1] + b;
                            if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                            sum += x[pl * h * w + ih * w + iw];
                            count++;
                        }
                    v[(pl * oh + i) * ow + j] = sum / (includePad ? k[0] * k[1] : count);
                }
        return (v, [n, c, oh, ow]);
    }

    private static double[] NaiveAdaptive(double[] x, long[] xs, long oh, long ow)
    {
        long n = xs[0], c = xs[1], h = xs[2], w = xs[3];
        var v = new double[n * c * oh * ow];
        for (long pl = 0; pl < n * c; pl++)
            for (long i = 0; i < oh; i++)
                for (long j = 0; j < ow; j++)
                {
                    long h0 = (long)Math.Floor(i * (double)h / oh), h1 = (long)Math.Ceiling((i + 1) * (double)h / oh);
                    long w0 = (long)Math.Floor(j * (double)w / ow), w1 = (long)Math.Ceiling((j + 1) * (double)w / ow);
                    double sum = 0;
                    for (long a = h0; a < h1; a++)
                        for (long b = w0; b < w1; b++) sum += x[pl * h * w + a * w + b];
                    v[(pl * oh + i) * ow + j] = sum / ((h1 - h0) * (w1 - w0));
                }
        return v;
    }

    // Distinct values (a shuffled ramp) so that max-pool windows have no ties, also under finite-difference nudges.
    private static Arg Distinct(int seed, params long[] shape)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var rng = new Random(seed);
        var data = Enumerable.Range(0, (int)count).Select(i => i * 0.1 - count * 0.05).OrderBy(_ => rng.Next()).ToArray();
        return Arg.Of(shape, data);
    }

    [TestCase(2, 2, 0, 1, false)]
    [TestCase(3, 2, 1, 1, false)]
    [TestCase(3, 1, 1, 2, false)]
    [TestCase(2, 2, 1, 1, true)]
    [TestCase(3, 2, 0, 1, true)]
    public void MaxPool2d_values_and_indices_match_loops(int k, int stride, int pad, int dil, bool ceil)
    {
        using var s = TensorScope.Begin();
        var x = Distinct(1, 2, 3, 7, 6);
        var (values, indices) = Ops.MaxPool2dWithIndices(x.ToTensor(), k, stride, pad, dil, ceil);
        var (v, idx, shape) = NaiveMax(x.Data, x.Shape, [k, k], [stride, stride], [pad, pad], [dil, dil], ceil);
        values.Shape.Should().Be(new Shape(shape));
        indices.DType.Should().Be(DType.Int64);
        values.ToDoubleArray().Should().Equal(v);
        indices.ToArray<long>().Should().Equal(idx);
        Ops.MaxPool2d(x.ToTensor(), k, stride, pad, dil, ceil).ToDoubleArray().Should().Equal(v);
    }

    [Test]
    public void MaxPool2d_per_dimension_and_default_stride()
    {
        using var s = TensorScope.Begin();
        var x = Distinct(2, 1, 2, 6, 7);
        var y = Ops.MaxPool2d(x.ToTensor(), [3, 2], [2, 3], [1, 0], [1, 2]);
        var (v, _, shape) = NaiveMax(x.Data, x.Shape, [3, 2], [2, 3], [1, 0], [1, 2], false);
        y.Shape.Should().Be(new Shape(shape));
        y.ToDoubleArray().Should().Equal(v);
        // Stride defaults to the kernel.
        var z = Ops.MaxPool2d(x.ToTensor(), 2);
        z.Shape.Should().Be(new Shape(1, 2, 3, 3));
        z.ToDoubleArray().Should().Equal(NaiveMax(x.Data, x.Shape, [2, 2], [2, 2], [0, 0], [1, 1], false).Values);
    }

    [TestCase(2, 2, 0, 1, false)]
    [TestCase(3, 1, 1, 1, false)] // overlapping windows: one input feeds several outputs
    [TestCase(2, 1, 1, 2, false)]
    [TestCase(2, 2, 1, 1, true)]
    public void MaxPool2d_gradient(int k, int stride, int pad, int dil, bool ceil)
    {
        using var s = TensorScope.Begin();
        GradCheck.Check(t => Ops.MaxPool2d(t[0], k, stride, pad, dil, ceil), Distinct(3, 2, 2, 5, 6));
    }

    // Inputs drawn from four values have ties in most windows; libtorch, the loop above and the graph backend (whose
    // lowering finds tiled windows' maxima by ArgMax, others by ONNX MaxPool's indices) must all pick the first maximum in
    // row-major window order, and route the gradient only there.
    [TestCase("torch", 2, 2, 2, 2, 0)]
    [TestCase("graph", 2, 2, 2, 2, 0)]
    [TestCase("graph", 3, 2, 3, 2, 0)] // tiling with a non-square window
    [TestCase("graph", 2, 2, 1, 1, 0)] // overlapping windows: MaxPool's own indices and an accumulating scatter
    [TestCase("graph", 3, 3, 2, 2, 1)] // padded: not a tiling
    public void MaxPool2d_with_ties_picks_the_first_maximum_and_routes_the_gradient_there(string backend, int kh, int kw, int sh, int sw, int pad)
    {
        using var s = TensorScope.Begin();
        var be = DualFramework.Backends.BackendRegistry.Get(backend);
        long[] shape = [2, 3, 6, 8];
        var rng = new Random(5);
        var data = Enumerable.Range(0, 2 * 3 * 6 * 8).Select(_ => (double)rng.Next(0, 4)).ToArray();
        var x = Tensor.FromArray(data.Select(v => (float)v).ToArray(), new Shape(shape), be);
        x.RequiresGrad = true;
        var (values, indices) = Ops.MaxPool2dWithIndices(x, [kh, kw], [sh, sw], [pad, pad]);
        var (v, idx, outShape) = NaiveMax(data, shape, [kh, kw], [sh, sw], [pad, pad], [1, 1], false);
        values.ToDoubleArray().Should().Equal(v);
        indices.ToArray<long>().Should().Equal(idx);

        var cot = Enumerable.Range(0, v.Length).Select(i => (float)(i % 5 + 1)).ToArray();
        var g = DualFramework.Autodiff.Autograd.Grad([Ops.Sum(Ops.Mul(values, Tensor.FromArray(cot, new Shape(outShape), be)))], [x])[0]!.ToDoubleArray();
        var expected = new double[data.Length];
        long plane = shape[2] * shape[3], outPlane = outShape[2] * outShape[3];
        for (int i = 0; i < idx.Length; i++) expected[i / outPlane * plane + idx[i]] += cot[i];
        g.Should().Equal(expected);
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void MaxUnpool2d_writes_each_value_at_its_position(string backend)
    {
        using var s = TensorScope.Begin();
        var be = DualFramework.Backends.BackendRegistry.Get(backend);
        // Two images × two channels of 2×2 values, unpooled into 4×5 planes at hand-picked distinct positions.
        var x = Tensor.FromArray(Enumerable.Range(1, 16).Select(i => (float)i).ToArray(), new Shape(2, 2, 2, 2), be);
        long[] at = [0, 3, 12, 19, 1, 2, 5, 6, 19, 18, 17, 16, 7, 9, 11, 13];
        var y = Ops.MaxUnpool2d(x, Tensor.FromArray(at, new Shape(2, 2, 2, 2), be), 2, outputSize: [4, 5]);
        y.Shape.Should().Be(new Shape(2, 2, 4, 5));
        var expected = new double[2 * 2 * 20];
        for (int i = 0; i < 16; i++) expected[i / 4 * 20 + at[i]] = i + 1;
        y.ToDoubleArray().Should().Equal(expected);
        // Default output size: (in − 1)·stride − 2·padding + kernel.
        Ops.MaxUnpool2d(x, Tensor.FromArray(at.Select(a => a % 9).ToArray(), new Shape(2, 2, 2, 2), be), 3, 1).Shape.Should().Be(new Shape(2, 2, 4, 4));
    }

    [Test]
    public void MaxUnpool2d_gradient()
    {
        using var s = TensorScope.Begin();
        var at = Tensor.FromArray(new long[] { 4, 0, 7, 2, 8, 6, 1, 3 }, new Shape(1, 2, 2, 2));
        GradCheck.Check(t => Ops.MaxUnpool2d(t[0], at, 2, outputSize: [3, 3]), Arg.Random(3, -1, 1, 1, 2, 2, 2));
    }

    [Test]
    public void MaxUnpool2d_rejects_bad_operands()
    {
        var x = Ops.Zeros(new Shape(1, 2, 2, 2));
        Throws(() => Ops.MaxUnpool2d(x, Ops.Zeros(new Shape(1, 2, 2, 2), DType.Int32), 2), "*indices must be int64*");
        Throws(() => Ops.MaxUnpool2d(x, Ops.Zeros(new Shape(1, 2, 2, 1), DType.Int64), 2), "*indices must have the input's shape*");
        Throws(() => Ops.MaxUnpool2d(x, Ops.Zeros(new Shape(1, 2, 2, 2), DType.Int64), 2, outputSize: [1, 3]), "*output volume 1×3 is smaller than the input*");
        Throws(() => Ops.MaxUnpool2d(x, Ops.Zeros(new Shape(1, 2, 2, 2), DType.Int64), 0), "*must be positive*");
        Throws(() => Ops.MaxUnpool2d(Ops.Zeros(new Shape(2, 2, 2)), Ops.Zeros(new Shape(2, 2, 2), DType.Int64), 2), "*rank 4*");
    }

    [TestCase(2, 2, 0, true)]
    [TestCase(3, 2, 1, true)]
    [TestCase(3, 2, 1, false)]
    [TestCase(2, 1, 1, false)]
    [TestCase(3, 3, 1, false)]
    public void AvgPool2d_matches_loops(int k, int stride, int pad, bool includePad)
    {
        using var s = TensorScope.Begin();
        var x = Arg.Random(4, -1, 1, 2, 3, 7, 6);
        var y = Ops.AvgPool2d(x.ToTensor(), k, stride, pad, includePad);
        var (v, shape) = NaiveAvg(x.Data, x.Shape, [k, k], [stride, stride], [pad, pad], includePad);
        y.Shape.Should().Be(new Shape(shape));
        GradCheck.AssertClose(y.ToDoubleArray(), v, 1e-12, 1e-12, "avg_pool2d");
    }

    [Test]
    public void AvgPool2d_per_dimension_parameters()
    {
        using var s = TensorScope.Begin();
        var x = Arg.Random(5, -1, 1, 1, 2, 6, 7);
        var y = Ops.AvgPool2d(x.ToTensor(), [3, 2], [2, 1], [1, 0], countIncludePad: false);
        var (v, shape) = NaiveAvg(x.Data, x.Shape, [3, 2], [2, 1], [1, 0], false);
        y.Shape.Should().Be(new Shape(shape));
        GradCheck.AssertClose(y.ToDoubleArray(), v, 1e-12, 1e-12, "avg_pool2d per-dim");
    }

    [TestCase(2, 2, 0, true)]
    [TestCase(3, 2, 1, true)]
    [TestCase(3, 2, 1, false)]
    [TestCase(2, 3, 1, false)]
    public void AvgPool2d_gradient(int k, int stride, int pad, bool includePad)
    {
        using var s = TensorScope.Begin();
        GradCheck.Check(t => Ops.AvgPool2d(t[0], k, stride, pad, includePad), Arg.Random(6, -1, 1, 2, 2, 6, 7));
        GradCheck.Check(t => Ops.AvgPool2d(t[0], [k, 2], [stride, 1], [pad, 1], includePad), Arg.Random(7, -1, 1, 1, 2, 5, 4));
    }

    [TestCase(2, 3)]
    [TestCase(3, 2)]
    [TestCase(5, 4)] // larger than the input: windows repeat
    [TestCase(1, 1)]
    public void AdaptiveAvgPool2d_matches_loops(int oh, int ow)
    {
        using var s = TensorScope.Begin();
        var x = Arg.Random(8, -1, 1, 2, 3, 5, 3);
        var y = Ops.AdaptiveAvgPool2d(x.ToTensor(), oh, ow);
        y.Shape.Should().Be(new Shape(2, 3, oh, ow));
        GradCheck.AssertClose(y.ToDoubleArray(), NaiveAdaptive(x.Data, x.Shape, oh, ow), 1e-12, 1e-12, "adaptive_avg_pool2d");
    }

    [TestCase(2, 3)]
    [TestCase(3, 2)]
    [TestCase(5, 4)]
    public void AdaptiveAvgPool2d_gradient(int oh, int ow)
    {
        using var s = TensorScope.Begin();
        GradCheck.Check(t => Ops.AdaptiveAvgPool2d(t[0], oh, ow), Arg.Random(9, -1, 1, 2, 2, 5, 3));
    }

    [Test]
    public void GlobalAvgPool2d_is_the_plane_mean()
    {
        using var s = TensorScope.Begin();
        var x = Arg.Random(10, -1, 1, 2, 3, 4, 5);
        var y = Ops.GlobalAvgPool2d(x.ToTensor());
        y.Shape.Should().Be(new Shape(2, 3, 1, 1));
        var want = Enumerable.Range(0, 6).Select(pl => x.Data.Skip(pl * 20).Take(20).Average()).ToArray();
        GradCheck.AssertClose(y.ToDoubleArray(), want, 1e-12, 1e-12, "global average");
        GradCheck.Check(t => Ops.GlobalAvgPool2d(t[0]), Arg.Random(11, -1, 1, 1, 2, 3, 4));
    }

    [Test]
    public void Integer_inputs_are_pooled_in_floating_point()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(new long[] { 1, 2, 3, 4 }, new Shape(1, 1, 2, 2));
        var y = Ops.AvgPool2d(x, 2);
        y.DType.Should().Be(DType.Float32);
        y.Item().Should().Be(2.5);
    }

    private static void Throws(Func<object> f, string pattern)
    {
        using var s = TensorScope.Begin();
        f.Should().Throw<OpException>().WithMessage(pattern);
    }

    [Test]
    public void Invalid_pooling_is_rejected()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Zeros(new Shape(1, 2, 5, 5));
        Throws(() => Ops.MaxPool2d(Ops.Zeros(new Shape(2, 5, 5)), 2), "*rank 4*");
        Throws(() => Ops.MaxPool2d(x, 2, 2, 2), "*padding 2 must be at most half the kernel size 2*");
        Throws(() => Ops.MaxPool2d(x, 0), "*kernel size must be positive*");
        Throws(() => Ops.MaxPool2d(x, 2, 0), "*stride must be positive*");
        Throws(() => Ops.MaxPool2d(x, 2, 1, 0, 0), "*dilation must be positive*");
        Throws(() => Ops.MaxPool2d(x, 6), "*kernel size 6*larger than the padded input size 5*");
        Throws(() => Ops.MaxPool2d(x, 3, 1, 0, 3), "*span 7*");
        Throws(() => Ops.MaxPool2d(x, [2, 2, 2]), "*kernel needs 2 entries*");
        Throws(() => Ops.AvgPool2d(x, 3, 1, 2), "*padding 2 must be at most half*");
        Throws(() => Ops.AvgPool2d(x, 3, 1, -1), "*padding must be non-negative*");
        Throws(() => Ops.AvgPool2d(x, 8, 1, 1), "*kernel size 8*is larger than the padded input size 7*");
        Throws(() => Ops.AvgPool2d(Ops.Zeros(new Shape(1, 0, 5, 5)), 2), "*non-zero*");
        Throws(() => Ops.AdaptiveAvgPool2d(x, 0, 2), "*output size (0, 2) must be positive*");
        Throws(() => Ops.GlobalAvgPool2d(Ops.Zeros(new Shape(2, 5))), "*rank 4*");
    }
}
