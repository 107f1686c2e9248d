using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;

/// <summary>Dft and Stft against float64 loops from the ONNX definitions, on both backends (the node suite checks them against
/// NumPy's FFT);
/// gradients against finite differences (and libtorch autograd, and on the graph backend).</summary>
[TestFixture]
public class FourierTests
{
    private static double[] Values(int seed, long n)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, (int)n).Select(_ => r.NextDouble() * 2 - 1).ToArray();
    }

    [TestCase("torch", false, false, null)]
    [TestCase("torch", true, false, null)]
    [TestCase("torch", false, true, 7L)]
    [TestCase("graph", false, false, 4L)]
    [TestCase("graph", true, false, null)]
    [TestCase("graph", false, true, null)]
    public void Dft_matches_a_float64_loop(string backendName, bool inverse, bool onesided, long? length)
    {
        // A (2, 5, 3) signal transformed along axis 1: complex, or real when one-sided.
        using var s = TensorScope.Begin();
        int parts = onesided ? 1 : 2;
        var x = Values(1, 2 * 5 * 3 * parts);
        var backend = BackendRegistry.Get(backendName);
        var y = Ops.Dft(Tensor.FromArray(x, new Shape(2, 5, 3, parts), backend), 1, inverse, onesided, length);
        int l = (int)(length ?? 5), k = onesided ? l / 2 + 1 : l;
        y.Shape.Should().Be(new Shape(2, k, 3, 2));
        var expected = new double[2 * k * 3 * 2];
        for (int b = 0; b < 2; b++)
            for (int j = 0; j < k; j++)
                for (int c = 0; c < 3; c++)
                {
                    double re = 0, im = 0;
                    for (int n = 0; n < Math.Min(l, 5); n++)
                    {
                        int at = ((b * 5 + n) * 3 + c) * parts;
                        double xr = x[at], xi = parts == 2 ? x[at + 1] : 0, theta = (inverse ? 2 : -2) * Math.PI * n * j / l;
                        re += xr * Math.Cos(theta) - xi * Math.Sin(theta);
                        im += xr * Math.Sin(theta) + xi * Math.Cos(theta);
                    }
                    int o = ((b * k + j) * 3 + c) * 2;
                    expected[o] = inverse ? re / l : re;
                    expected[o + 1] = inverse ? im / l : im;
                }
        GradCheck.AssertClose(y.ToDoubleArray(), expected, 1e-12, 1e-12, "dft");
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void Stft_matches_a_float64_loop(string backendName)
    {
        using var s = TensorScope.Begin();
        var backend = BackendRegistry.Get(backendName);
        var signal = Values(2, 2 * 20);
        var window = Values(3, 6);
        var y = Ops.Stft(Tensor.FromArray(signal, new Shape(2, 20, 1), backend), 3, Tensor.FromArray(window, new Shape(6), backend));
        y.Shape.Should().Be(new Shape(2, 5, 4, 2)); // ⌊(20 − 6) / 3⌋ + 1 frames, 6 / 2 + 1 bins
        GradCheck.AssertClose(y.ToDoubleArray(), StftReference(signal, window, 2, 20, 3), 1e-12, 1e-12, "stft");
        // Without a window: the frame length alone.
        var plain = Ops.Stft(Tensor.FromArray(signal, new Shape(2, 20, 1), backend), 3, null, 6);
        GradCheck.AssertClose(plain.ToDoubleArray(), StftReference(signal, [1, 1, 1, 1, 1, 1], 2, 20, 3), 1e-12, 1e-12, "stft without window");
    }

    [Test]
    public void Gradients_match_finite_differences_and_libtorch_autograd()
    {
        GradCheck.Check(t => Ops.Dft(t[0], 1, true, false, 6), Arg.Random(4, -1, 1, 2, 5, 3, 2));
        GradCheck.Check(t => Ops.Dft(t[0], -3, false, true), Arg.Random(5, -1, 1, 2, 5, 3, 1));
        GradCheck.Check(t => Ops.Stft(t[0], 2, t[1]), Arg.Random(6, -1, 1, 1, 11, 1), Arg.Random(7, -1, 1, 4));
    }

    [Test]
    public void Graph_backend_gradients_match_finite_differences_of_the_reference()
    {
        using var s = TensorScope.Begin();
        var backend = BackendRegistry.Get("graph");
        var signal = Values(8, 20);
        var window = Values(9, 6);
        var cot = Values(10, 5 * 4 * 2);
        var ts = Tensor.FromArray(signal, new Shape(1, 20, 1), backend);
        var tw = Tensor.FromArray(window, new Shape(6), backend);
        ts.RequiresGrad = true;
        tw.RequiresGrad = true;
        var y = Ops.Stft(ts, 3, tw);
        var g = Autograd.Grad([Ops.Sum(Ops.Mul(y, Tensor.FromArray(cot, y.Shape, backend)))], [ts, tw]);
        double Loss(double[] sig, double[] win) => StftReference(sig, win, 1, 20, 3).Zip(cot, (a, b) => a * b).Sum();
        GradCheck.AssertClose(g[0]!.ToDoubleArray(), GradCheck.Numeric(signal, v => Loss(v, window)), 1e-6, 1e-8, "signal gradient");
        GradCheck.AssertClose(g[1]!.ToDoubleArray(), GradCheck.Numeric(window, v => Loss(signal, v)), 1e-6, 1e-8, "window gradient");
    }

    [Test]
    public void Invalid_arguments_name_the_function()
    {
        using var s = TensorScope.Begin();
        FluentActions.Invoking(() => Ops.Dft(Ops.Zeros(new Shape(2, 5, 3)), 1)).Should().Throw<OpException>().WithMessage("*dft*1 or 2*");
        FluentActions.Invoking(() => Ops.Dft(Ops.Zeros(new Shape(2, 5, 2)), 2)).Should().Throw<OpException>().WithMessage("*dft*axis 2*");
        FluentActions.Invoking(() => Ops.Stft(Ops.Zeros(new Shape(1, 4, 1)), 1, null, 8)).Should().Throw<OpException>().WithMessage("*stft*frame length 8*");
    }

    /// <summary>X[b, f, k] = Σ_j w[j] x[b, f·step + j] e^{−2πi jk / L} for k ≤ L / 2, as (re, im).</summary>
    private static double[] StftReference(double[] x, double[] w, int batch, int length, int step)
    {
        int l = w.Length, frames = (length - l) / step + 1, bins = l / 2 + 1;
        var y = new double[batch * frames * bins * 2];
        for (int b = 0; b < batch; b++)
            for (int f = 0; f < frames; f++)
                for (int k = 0; k < bins; k++)
                {
                    double re = 0, im = 0;
                    for (int j = 0; j < l; j++)
                    {
                        double v = w[j] * x[b * length + f * step + j], theta = -2 * Math.PI * j * k / l;
                        re += v * Math.Cos(theta);
                        im += v * Math.Sin(theta);
                    }
                    int o = ((b * frames + f) * bins + k) * 2;
                    y[o] = re;
                    y[o + 1] = im;
                }
        return y;
    }
}
