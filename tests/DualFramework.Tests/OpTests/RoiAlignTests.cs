using DualFramework.Backends;
using DualFramework.Tests.Support;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;

/// <summary>RoiAlign (average mode) against a float64 loop written from the ONNX RoiAlign description, on both backends,
/// and its gradient (composed from take and grid_sample) against finite differences and libtorch autograd.</summary>
[TestFixture]
public class RoiAlignTests
{
    // Regions partly outside the 5×6 maps, one thinner than a pixel (the legacy mode widens it to one).
    private static readonly double[] Rois = [0.5, 0.7, 4.2, 3.9, -1.6, 2.5, 2.2, 5.8, 3.1, 0.2, 3.4, 6.5];
    private static readonly long[] Batch = [1, 0, 1];

    [TestCase("torch", true)]
    [TestCase("torch", false)]
    [TestCase("graph", true)]
    [TestCase("graph", false)]
    public void Matches_a_float64_loop(string backendName, bool aligned)
    {
        using var s = TensorScope.Begin();
        var backend = BackendRegistry.Get(backendName);
        var r = new Random(11);
        var x = Enumerable.Range(0, 2 * 2 * 5 * 6).Select(_ => r.NextDouble() * 2 - 1).ToArray();
        var y = Ops.RoiAlign(Tensor.FromArray(x, new Shape(2, 2, 5, 6), backend), Tensor.FromArray(Rois, new Shape(3, 4), backend),
            Tensor.FromArray(Batch, new Shape(3), backend), 2, 3, 2, 0.9, aligned);
        // The graph backend samples float64 in float32 (ONNX Runtime's GridSample kernel before opset 20).
        double tol = backendName == "torch" ? 1e-12 : 1e-6;
        GradCheck.AssertClose(y.ToDoubleArray(), Reference(x, 0.9, aligned), tol, tol, "roi_align");
    }

    [Test]
    public void Gradient_matches_finite_differences_and_libtorch_autograd() =>
        GradCheck.Check(t => Ops.RoiAlign(t[0], t[1], Tensor.FromArray(Batch, new Shape(3), t[0].Backend), 2, 3, 2, 0.9, true),
            Arg.Random(12, -1, 1, 2, 2, 5, 6), Arg.Of([3, 4], Rois));

    private static double[] Reference(double[] x, double scale, bool aligned)
    {
        const int C = 2, H = 5, W = 6, PH = 2, PW = 3, SR = 2;
        var y = new double[3 * C * PH * PW];
        double offset = aligned ? 0.5 : 0;
        for (int n = 0; n < 3; n++)
        {
            double x1 = Rois[n * 4] * scale - offset, y1 = Rois[n * 4 + 1] * scale - offset;
            double rw = Rois[n * 4 + 2] * scale - offset - x1, rh = Rois[n * 4 + 3] * scale - offset - y1;
            if (!aligned) (rw, rh) = (Math.Max(rw, 1), Math.Max(rh, 1));
            double bw = rw / PW, bh = rh / PH;
            for (int c = 0; c < C; c++)
                for (int ph = 0; ph < PH; ph++)
                    for (int pw = 0; pw < PW; pw++)
                    {
                        double sum = 0;
                        for (int iy = 0; iy < SR; iy++)
                            for (int ix = 0; ix < SR; ix++)
                            {
                                double yy = y1 + ph * bh + (iy + 0.5) * bh / SR, xx = x1 + pw * bw + (ix + 0.5) * bw / SR;
                                if (yy < -1 || yy > H || xx < -1 || xx > W) continue;
                                yy = Math.Max(yy, 0);
                                xx = Math.Max(xx, 0);
                                int y0 = (int)yy, x0 = (int)xx, yh = y0 + 1, xh = x0 + 1;
                                if (y0 >= H - 1) (y0, yh, yy) = (H - 1, H - 1, H - 1);
                                if (x0 >= W - 1) (x0, xh, xx) = (W - 1, W - 1, W - 1);
                                double ly = yy - y0, lx = xx - x0;
                                double V(int a, int b) => x[((Batch[n] * C + c) * H + a) * W + b];
                                sum += (1 - ly) * (1 - lx) * V(y0, x0) + (1 - ly) * lx * V(y0, xh) + ly * (1 - lx) * V(yh, x0) + ly * lx * V(yh, xh);
                            }
                        y[((n * C + c) * PH + ph) * PW + pw] = sum / (SR * SR);
                    }
        }
        return y;
    }
}
