using DualFramework.Operators;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;


[TestFixture]
public class ConvTests
{
    // Naive 2-D cross-correlation [N, C, H, W] * [O, C/g, KH, KW] (+ bias), zero padding; also the layer tests' reference.
    internal static double[] NaiveConv(double[] x, long[] xs, double[] w, long[] ws, double[]? b,
        long[] s, long[] p, long[] d, long g, out long[] ys)
    {
        long n = xs[0], c = xs[1], h = xs[2], wd = xs[3], o = ws[0], cg = ws[1], kh = ws[2], kw = ws[3], og = o / g;
        long oh = (h + 2 * p[0] - d[0] * (kh - 1) - 1) / s[0] + 1, ow = (wd + 2 * p[1] - d[1] * (kw - 1) - 1) / s[1] + 1;
        ys = [n, o, oh, ow];
        var y = new double[n * o * oh * ow];
        for (long ni = 0; ni < n; ni++)
            for (long oi = 0; oi < o; oi++)
                for (long yi = 0; yi < oh; yi++)
                    for (long xi = 0; xi < ow; xi++)
                    {
                        double acc = b?[oi] ?? 0;
                        long grp = oi / og;
                        for (long ci = 0; ci < cg; ci++)
                            for (long a = 0; a < kh; a++)
                                for (long e = 0; e < kw; e++)
                                {
                                    long ih = yi * s[0] - p[0] + a * d[0], iw = xi * s[1] - p[1] + e * d[1];
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                    acc += x[((ni * c + grp * cg + ci) * h + ih) * wd + iw] * w[((oi * cg + ci) * kh + a) * kw + e];
                                }
                        y[((ni * o + oi) * oh + yi) * ow + xi] = acc;
                    }
        return y;
    }

    // Naive 2-D transposed convolution [N, Cin, H, W] * [Cin, Cout/g, KH, KW]: every input element scatters its
    // weighted kernel into the output.
    private static double[] NaiveConvTranspose(double[] x, long[] xs, double[] w, long[] ws, double[]? b,
        long[] s, long[] p, long[] op, long[] d, long g, out long[] ys)
    {
        long n = xs[0], cin = xs[1], h = xs[2], wd = xs[3], cog = ws[1], kh = ws[2], kw = ws[3], cout = cog * g, cig = cin / g;
        long oh = (h - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op[0] + 1, ow = (wd - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op[1] + 1;
        ys = [n, cout, oh, ow];
        var y = new double[n * cout * oh * ow];
        for (long ni = 0; ni < n; ni++)
            for (long co = 0; co < cout; co++)
                for (long i = 0; i < oh * ow; i++)
                    y[(ni * cout + co) * oh * ow + i] = b?[co] ?? 0;
        for (long ni = 0; ni < n; ni++)
            for (long ci = 0; ci < cin; ci++)
                for (long ih = 0; ih < h; ih++)
                    for (long iw = 0; iw < wd; iw++)
                        for (long cl = 0; cl < cog; cl++)
                            for (long a = 0; a < kh; a++)
                                for (long e = 0; e < kw; e++)
                                {
                                    long yh = ih * s[0] - p[0] + a * d[0], yw = iw * s[1] - p[1] + e * d[1];
                                    if (yh < 0 || yh >= oh || yw < 0 || yw >= ow) continue;
                                    long co = ci / cig * cog + cl;
                                    y[((ni * cout + co) * oh + yh) * ow + yw] += x[((ni * cin + ci) * h + ih) * wd + iw] * w[((ci * cog + cl) * kh + a) * kw + e];
                                }
        return y;
    }

    private static Arg Rnd(int seed, params long[] shape) => Arg.Random(seed, -1, 1, shape);

    [TestCase(1, 0, 1, 1, false)]
    [TestCase(2, 1, 1, 1, true)]
    [TestCase(1, 1, 2, 2, true)]
    [TestCase(3, 2, 2, 2, false)]
    [TestCase(2, 0, 1, 4, true)]
    public void Conv2d_matches_loops(int stride, int pad, int dil, int groups, bool bias)
    {
        using var s = TensorScope.Begin();
        var x = Rnd(1, 2, 4, 7, 6);
        var w = Rnd(2, 8, 4 / groups, 3, 2);
        var b = bias ? Rnd(3, 8) : null;
        var y = Ops.Conv2d(x.ToTensor(), w.ToTensor(), b?.ToTensor(), stride, pad, dil, groups);
        var want = NaiveConv(x.Data, x.Shape, w.Data, w.Shape, b?.Data, [stride, stride], [pad, pad], [dil, dil], groups, out var ys);
        y.Shape.Should().Be(new Shape(ys));
        GradCheck.AssertClose(y.ToDoubleArray(), want, 1e-12, 1e-12, "conv2d");
    }

    [Test]
    public void Conv2d_per_dimension_parameters()
    {
        using var s = TensorScope.Begin();
        var x = Rnd(4, 1, 2, 6, 7);
        var w = Rnd(5, 3, 2, 2, 3);
        var y = Ops.Conv2d(x.ToTensor(), w.ToTensor(), null, [2, 1], [1, 0], [1, 2]);
        var want = NaiveConv(x.Data, x.Shape, w.Data, w.Shape, null, [2, 1], [1, 0], [1, 2], 1, out var ys);
        y.Shape.Should().Be(new Shape(ys));
        GradCheck.AssertClose(y.ToDoubleArray(), want, 1e-12, 1e-12, "conv2d per-dim");
    }

    [Test]
    public void Conv1d_matches_loops()
    {
        using var s = TensorScope.Begin();
        var x = Rnd(6, 2, 3, 9);
        var w = Rnd(7, 6, 1, 3);
        var b = Rnd(8, 6);
        var y = Ops.Conv1d(x.ToTensor(), w.ToTensor(), b.ToTensor(), stride: 2, padding: 1, dilation: 2, groups: 3);
        // A 1-D conv is a 2-D conv over a height-1 plane.
        var want = NaiveConv(x.Data, [2, 3, 1, 9], w.Data, [6, 1, 1, 3], b.Data, [1, 2], [0, 1], [1, 2], 3, out var ys);
        y.Shape.Should().Be(new Shape(2, 6, ys[3]));
        GradCheck.AssertClose(y.ToDoubleArray(), want, 1e-12, 1e-12, "conv1d");
        var y2 = Ops.Conv1d(x.ToTensor(), w.ToTensor(), null, [1], [0], [1], 3);
        var want2 = NaiveConv(x.Data, [2, 3, 1, 9], w.Data, [6, 1, 1, 3], null, [1, 1], [0, 0], [1, 1], 3, out _);
        GradCheck.AssertClose(y2.ToDoubleArray(), want2, 1e-12, 1e-12, "conv1d array params");
    }

    [TestCase(2, 1, 1, 1, 2, true)]
    [TestCase(1, 0, 1, 2, 1, false)]
    [TestCase(3, 1, 2, 2, 2, true)]
    public void ConvTranspose2d_matches_loops(int stride, int pad, int outPad, int dil, int groups, bool bias)
    {
        using var s = TensorScope.Begin();
        var x = Rnd(9, 2, 4, 3, 4);
        var w = Rnd(10, 4, 3, 3, 2);
        var b = bias ? Rnd(11, 3 * groups) : null;
        var y = Ops.ConvTranspose2d(x.ToTensor(), w.ToTensor(), b?.ToTensor(), stride, pad, outPad, dil, groups);
        var want = NaiveConvTranspose(x.Data, x.Shape, w.Data, w.Shape, b?.Data, [stride, stride], [pad, pad], [outPad, outPad], [dil, dil], groups, out var ys);
        y.Shape.Should().Be(new Shape(ys));
        GradCheck.AssertClose(y.ToDoubleArray(), want, 1e-12, 1e-12, "conv_transpose2d");
    }

    // Float32 on ONNX Runtime against float64 loops: each output is a sum of K products plus a bias, so
    // |error| ≤ γ_(K+1) · Σ|x·w| + |b| (Fp32ErrorModel), plus the rounding of the result itself.
    [TestCase(1, 0, 0, 1, 1, true)]
    [TestCase(1, 1, 0, 2, 1, true)]
    [TestCase(1, 2, 0, 1, 1, false)] // padding at its limit d·(k − 1)
    [TestCase(1, 1, 0, 1, 2, true)]
    [TestCase(2, 1, 1, 1, 1, true)]
    public void ConvTranspose2d_on_the_graph_backend_matches_loops(int stride, int pad, int outPad, int dil, int groups, bool bias)
    {
        using var s = TensorScope.Begin();
        var graph = DualFramework.Backends.BackendRegistry.Get("graph");
        var x = Rnd(9, 2, 4, 5, 4);
        var w = Rnd(10, 4, 3, 3, 3);
        var b = bias ? Rnd(11, 3 * groups) : null;
        Arg F32(Arg a) => a with { Data = a.Data.Select(v => (double)(float)v).ToArray() };
        (x, w) = (F32(x), F32(w));
        if (b != null) b = F32(b);
        var y = Ops.ConvTranspose2d(x.ToFloat32(graph), w.ToFloat32(graph), b?.ToFloat32(graph), stride, pad, outPad, dil, groups);
        var want = NaiveConvTranspose(x.Data, x.Shape, w.Data, w.Shape, b?.Data, [stride, stride], [pad, pad], [outPad, outPad], [dil, dil], groups, out var ys);
        var mag = NaiveConvTranspose(x.Data.Select(Math.Abs).ToArray(), x.Shape, w.Data.Select(Math.Abs).ToArray(), w.Shape,
            b?.Data.Select(Math.Abs).ToArray(), [stride, stride], [pad, pad], [outPad, outPad], [dil, dil], groups, out _);
        y.Shape.Should().Be(new Shape(ys));
        var got = y.ToFloatArray();
        int k = (int)(w.Shape[0] / groups * w.Shape[2] * w.Shape[3]) + 1;
        for (int i = 0; i < got.Length; i++)
            Math.Abs(got[i] - want[i]).Should().BeLessThanOrEqualTo(Fp32ErrorModel.Gamma(k) * mag[i] + Fp32ErrorModel.UnitRoundoff * Math.Abs(want[i]),
                $"output {i} of conv_transpose2d (stride {stride}, padding {pad}, dilation {dil}, groups {groups})");
    }

    // Float32 on libtorch (oneDNN's deconvolution) and ONNX Runtime against float64 loops, with per-axis padding and dilation: the case
    // where libtorch's result and ONNX Runtime's disagreed on one CPU (OnnxOpCases conv_transpose2d_stride1).
    [TestCase("torch", 1, 1, 0, 1, 2)]
    [TestCase("torch", 1, 0, 1, 2, 1)]
    [TestCase("torch", 2, 1, 0, 1, 2)]
    [TestCase("torch", 1, 1, 1, 2, 2)]
    [TestCase("torch", 1, 1, 0, 1, 1)]
    [TestCase("torch", 1, 0, 0, 1, 1)]
    [TestCase("torch", 1, 1, 1, 1, 1)]
    [TestCase("torch", 1, 0, 0, 2, 2)]
    [TestCase("torch", 1, 0, 0, 1, 2)]
    [TestCase("graph", 1, 1, 0, 1, 2)]
    [TestCase("graph", 1, 0, 1, 2, 1)]
    [TestCase("graph", 2, 1, 0, 1, 2)]
    public void ConvTranspose2d_float32_matches_loops_per_axis(string backend, int stride, int padH, int padW, int dilH, int dilW)
    {
        using var s = TensorScope.Begin();
        var torchBackend = DualFramework.Backends.BackendRegistry.Get(backend);
        Arg F32(Arg a) => a with { Data = a.Data.Select(v => (double)(float)v).ToArray() };
        var (x, w, b) = (F32(Rnd(9, 2, 4, 5, 4)), F32(Rnd(10, 4, 3, 3, 2)), F32(Rnd(11, 3)));
        long[] stride2 = [stride, stride], pad = [padH, padW], dil = [dilH, dilW];
        var y = DualFramework.Operators.Dispatcher.Apply(DualFramework.Operators.OpSet.ConvTranspose, new DualFramework.Operators.ConvTransposeAttrs(stride2, pad, [0, 0], dil, 1),
            x.ToFloat32(torchBackend), w.ToFloat32(torchBackend), b.ToFloat32(torchBackend));
        var want = NaiveConvTranspose(x.Data, x.Shape, w.Data, w.Shape, b.Data, stride2, pad, [0, 0], dil, 1, out var ys);
        var mag = NaiveConvTranspose(x.Data.Select(Math.Abs).ToArray(), x.Shape, w.Data.Select(Math.Abs).ToArray(), w.Shape,
            b.Data.Select(Math.Abs).ToArray(), stride2, pad, [0, 0], dil, 1, out _);
        y.Shape.Should().Be(new Shape(ys));
        var got = y.ToFloatArray();
        int k = (int)(w.Shape[0] * w.Shape[2] * w.Shape[3]) + 1;
        for (int i = 0; i < got.Length; i++)
            Math.Abs(got[i] - want[i]).Should().BeLessThanOrEqualTo(Fp32ErrorModel.Gamma(k) * mag[i] + Fp32ErrorModel.UnitRoundoff * Math.Abs(want[i]),
                $"output {i} of float32 conv_transpose2d on {backend} (stride {stride}, padding ({padH}, {padW}), dilation ({dilH}, {dilW}))");
    }

    // The input gradient of a float32 stride-1 convolution (libtorch autograd: oneDNN's backward-data kernel) against the
    // same gradient in float64 (libtorch's non-oneDNN kernels); bound: each element sums K products of |g|·|w|.
    [TestCase(1, 1, 1)]
    [TestCase(1, 0, 2)]
    [TestCase(2, 1, 1)]
    public void Conv2d_float32_input_gradient_on_torch_matches_float64(int stride, int pad, int dil)
    {
        using var s = TensorScope.Begin();
        var torchBackend = DualFramework.Backends.BackendRegistry.Get("torch");
        Arg F32(Arg a) => a with { Data = a.Data.Select(v => (double)(float)v).ToArray() };
        var (x, w, r) = (F32(Rnd(20, 2, 4, 7, 6)), F32(Rnd(21, 3, 4, 3, 3)), F32(Rnd(22, 2 * 3 * 7 * 6)));
        double[] Grad(DType dt)
        {
            var xt = Ops.Cast(x.ToFloat32(torchBackend), dt);
            xt.RequiresGrad = true;
            var y = Ops.Conv2d(xt, Ops.Cast(w.ToFloat32(torchBackend), dt), null, stride, pad, dil);
            var weights = Ops.Cast(Ops.Reshape(Tensor.FromArray(r.Data.Take((int)y.NumElements).ToArray(), new Shape(y.NumElements), torchBackend), y.Shape.ToArray()), dt);
            return DualFramework.Autodiff.Autograd.Grad([Ops.Sum(Ops.Mul(y, weights))], [xt])[0]!.ToDoubleArray();
        }
        var (got, want) = (Grad(DType.Float32), Grad(DType.Float64));
        int k = 3 * 3 * 3 + 1;
        for (int i = 0; i < got.Length; i++)
            Math.Abs(got[i] - want[i]).Should().BeLessThanOrEqualTo(Fp32ErrorModel.Gamma(k) * k * 2 + Fp32ErrorModel.UnitRoundoff * Math.Abs(want[i]),
                $"input gradient element {i} of a float32 conv2d (stride {stride}, padding {pad}, dilation {dil})");
    }

    [Test]
    public void ConvTranspose1d_matches_loops()
    {
        using var s = TensorScope.Begin();
        var x = Rnd(12, 2, 2, 5);
        var w = Rnd(13, 2, 3, 3);
        var b = Rnd(14, 3);
        var y = Ops.ConvTranspose1d(x.ToTensor(), w.ToTensor(), b.ToTensor(), stride: 2, padding: 1, outputPadding: 1);
        var want = NaiveConvTranspose(x.Data, [2, 2, 1, 5], w.Data, [2, 3, 1, 3], b.Data, [1, 2], [0, 1], [0, 1], [1, 1], 1, out var ys);
        y.Shape.Should().Be(new Shape(2, 3, ys[3]));
        ys[3].Should().Be(10); // (5 − 1)·2 − 2 + 2 + 1 + 1
        GradCheck.AssertClose(y.ToDoubleArray(), want, 1e-12, 1e-12, "conv_transpose1d");
    }

    [Test]
    public void ConvTranspose_is_the_adjoint_of_conv()
    {
        // <conv(x, w), y> == <x, conv_transpose(y, w)> with the output padding that restores x's size.
        using var s = TensorScope.Begin();
        var x = Rnd(15, 1, 2, 7, 6).ToTensor();
        var w = Rnd(16, 4, 1, 3, 2).ToTensor();
        var cx = Ops.Conv2d(x, w, null, 2, 1, 1, 2);
        var y = Rnd(17, cx.Shape.ToArray()).ToTensor();
        var back = Ops.ConvTranspose(y, w, null, new ConvTransposeAttrs([2, 2], [1, 1], [(7 + 2 - 2 - 1) % 2, (6 + 2 - 1 - 1) % 2], [1, 1], 2));
        back.Shape.Should().Be(x.Shape);
        Ops.Sum(Ops.Mul(cx, y)).Item().Should().BeApproximately(Ops.Sum(Ops.Mul(x, back)).Item(), 1e-12);
    }

    [TestCase(1, 0, 1, 1, false)]
    [TestCase(2, 1, 1, 1, true)]
    [TestCase(2, 0, 2, 2, true)]
    [TestCase(3, 1, 1, 2, false)]
    [TestCase(1, 2, 2, 4, true)]
    public void Conv2d_gradients(int stride, int pad, int dil, int groups, bool bias)
    {
        using var s = TensorScope.Begin();
        var args = new List<Arg> { Rnd(20, 2, 4, 6, 5), Rnd(21, 4, 4 / groups, 3, 2) };
        if (bias) args.Add(Rnd(22, 4));
        GradCheck.Check(t => Ops.Conv2d(t[0], t[1], bias ? t[2] : null, stride, pad, dil, groups), args.ToArray());
    }

    [Test]
    public void Conv2d_gradient_with_per_dimension_parameters()
    {
        using var s = TensorScope.Begin();
        GradCheck.Check(t => Ops.Conv2d(t[0], t[1], t[2], [3, 1], [1, 0], [1, 2], 2), Rnd(23, 1, 2, 8, 6), Rnd(24, 2, 1, 2, 2), Rnd(25, 2));
    }

    [TestCase(1, 0, 1, 1)]
    [TestCase(3, 1, 2, 3)]
    [TestCase(2, 2, 1, 1)]
    public void Conv1d_gradients(int stride, int pad, int dil, int groups)
    {
        using var s = TensorScope.Begin();
        GradCheck.Check(t => Ops.Conv1d(t[0], t[1], t[2], stride, pad, dil, groups), Rnd(26, 2, 3, 10), Rnd(27, 6, 3 / groups, 3), Rnd(28, 6));
    }

    [TestCase(2, 1, 1, 1, 2)]
    [TestCase(1, 0, 1, 2, 1)] // output_padding ≥ stride: the input gradient needs trimming
    [TestCase(3, 1, 2, 2, 2)]
    public void ConvTranspose2d_gradients(int stride, int pad, int outPad, int dil, int groups)
    {
        using var s = TensorScope.Begin();
        GradCheck.Check(t => Ops.ConvTranspose2d(t[0], t[1], t[2], stride, pad, outPad, dil, groups),
            Rnd(29, 2, 4, 3, 3), Rnd(30, 4, 2, 3, 2), Rnd(31, 2 * groups));
    }

    [Test]
    public void ConvTranspose1d_gradients()
    {
        using var s = TensorScope.Begin();
        GradCheck.Check(t => Ops.ConvTranspose1d(t[0], t[1], t[2], 2, 1, 1, 2, 2), Rnd(32, 2, 2, 4), Rnd(33, 2, 2, 3), Rnd(34, 4));
    }

    [Test]
    public void Integer_operands_are_promoted_to_floating()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(new long[] { 1, 2, 3, 4 }, new Shape(1, 1, 4));
        var w = Tensor.FromArray(new long[] { 1, -1 }, new Shape(1, 1, 2));
        var y = Ops.Conv1d(x, w);
        y.DType.Should().Be(DType.Float32);
        y.ToDoubleArray().Should().Equal(-1, -1, -1);
    }

    private static void Throws(Func<Tensor> f, string pattern)
    {
        using var s = TensorScope.Begin();
        f.Should().Throw<OpException>().WithMessage(pattern);
    }

    [Test]
    public void Invalid_convolutions_are_rejected()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Zeros(new Shape(1, 4, 5, 5));
        var w = Ops.Zeros(new Shape(6, 2, 3, 3));
        Throws(() => Ops.Conv2d(Ops.Zeros(new Shape(1, 3, 5, 5)), Ops.Zeros(new Shape(6, 1, 3, 3)), null, 1, 0, 1, 2), "*input channels 3*not divisible by groups 2*");
        Throws(() => Ops.Conv2d(x, Ops.Zeros(new Shape(5, 2, 3, 3)), null, 1, 0, 1, 2), "*output channels 5*not divisible*");
        Throws(() => Ops.Conv2d(x, w), "*weight expects 2 input channels per group*4 channels*");
        Throws(() => Ops.Conv2d(x, Ops.Zeros(new Shape(6, 4, 3))), "*weight must have rank 4*");
        Throws(() => Ops.Conv2d(Ops.Zeros(new Shape(4, 5, 5)), w), "*input must have rank 4*");
        Throws(() => Ops.Conv2d(x, Ops.Zeros(new Shape(6, 4, 6, 3))), "*kernel size 6*larger than the padded input size 5*");
        Throws(() => Ops.Conv2d(x, Ops.Zeros(new Shape(6, 4, 3, 3)), null, 1, 0, 3), "*span 7*larger than the padded input*");
        Throws(() => Ops.Conv2d(x, Ops.Zeros(new Shape(6, 4, 3, 3)), null, 0), "*stride must be positive*");
        Throws(() => Ops.Conv2d(x, Ops.Zeros(new Shape(6, 4, 3, 3)), null, 1, 0, 0), "*dilation must be positive*");
        Throws(() => Ops.Conv2d(x, Ops.Zeros(new Shape(6, 4, 3, 3)), null, 1, -1), "*padding must be non-negative*");
        Throws(() => Ops.Conv2d(x, Ops.Zeros(new Shape(6, 4, 3, 3)), null, 1, 0, 1, 0), "*groups must be positive*");
        Throws(() => Ops.Conv2d(x, Ops.Zeros(new Shape(6, 4, 3, 3)), Ops.Zeros(new Shape(5))), "*bias must have shape [6]*");
        Throws(() => Ops.Conv2d(x, Ops.Zeros(new Shape(6, 4, 3, 3)), null, [1, 1, 1]), "*stride needs 2 entries*");
        Throws(() => Ops.Conv1d(x, Ops.Zeros(new Shape(6, 4, 3, 3))), "*input must have rank 3*");
        Throws(() => Ops.Conv1d(Ops.Zeros(new Shape(1, 4, 5)), Ops.Zeros(new Shape(6, 4, 0))), "*weight dimensions must be positive*");
    }

    [Test]
    public void Raw_op_attributes_and_dtypes_are_validated()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Zeros(new Shape(1, 2, 4, 4));
        var w = Ops.Zeros(new Shape(2, 2, 2, 2));
        Throws(() => Ops.Conv(x, w, null, new ConvAttrs([1, 1, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1], 1)), "*1 to 3 spatial dimensions, got 4*");
        Throws(() => Ops.Conv(x, w, null, new ConvAttrs([1, 1], [0], [1, 1], 1)), "*need 2 entries each*");
        Throws(() => Ops.Conv(x, Ops.Zeros(new Shape(2, 2, 2, 2), DType.Float64), null, new ConvAttrs([1, 1], [0, 0], [1, 1], 1)), "*dtypes differ*");
        var xi = Ops.Cast(x, DType.Int64);
        Throws(() => Ops.Conv(xi, Ops.Cast(w, DType.Int64), null, new ConvAttrs([1, 1], [0, 0], [1, 1], 1)), "*floating*");
        Throws(() => Ops.ConvTranspose(x, w, null, new ConvTransposeAttrs([1, 1], [0, 0], [0], [1, 1], 1)), "*need 2 entries each*");
    }

    [Test]
    public void Invalid_transposed_convolutions_are_rejected()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Zeros(new Shape(1, 4, 3, 3));
        var w = Ops.Zeros(new Shape(4, 2, 3, 3));
        Throws(() => Ops.ConvTranspose2d(x, w, null, 2, 0, 2), "*output_padding 2*smaller than stride 2 or dilation 1*");
        Throws(() => Ops.ConvTranspose2d(x, w, null, 1, 0, -1), "*output_padding -1*");
        Throws(() => Ops.ConvTranspose2d(x, Ops.Zeros(new Shape(3, 2, 3, 3))), "*weight expects 3 input channels, the input has 4*");
        Throws(() => Ops.ConvTranspose2d(x, w, null, 1, 0, 0, 1, 3), "*input channels 4 are not divisible by groups 3*");
        Throws(() => Ops.ConvTranspose2d(x, w, null, 1, 3), "*output size*-1*positive*");
        Throws(() => Ops.ConvTranspose2d(x, w, Ops.Zeros(new Shape(3))), "*bias must have shape [2]*");
        Throws(() => Ops.ConvTranspose1d(x, w), "*input must have rank 3*");
    }
}
