using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.Operators;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;
using TorchSharp;

namespace DualFramework.Tests.OpTests;

/// <summary>grid_sample against a float64 loop written from the ONNX GridSample description (mirroring by repeated
/// reflection, Keys' cubic kernel by distance), libtorch's own grid sampler in float64, and gradients against float64
/// finite differences on both backends.</summary>
[TestFixture]
public class GridSampleTests
{
    private const long N = 2, C = 2, H = 3, W = 4, Ho = 2, Wo = 3;

    private static double[] Values(int seed, double lo, double hi, long n)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, (int)n).Select(_ => lo + (hi - lo) * r.NextDouble()).ToArray();
    }

    public static IEnumerable<TestCaseData> Settings()
    {
        foreach (var backend in new[] { "torch", "graph" })
            foreach (var mode in Enum.GetValues<GridSampleMode>())
                foreach (var padding in Enum.GetValues<GridSamplePadding>())
                    foreach (var align in new[] { false, true })
                        yield return new TestCaseData(backend, mode, padding, align);
    }

    [TestCaseSource(nameof(Settings))]
    public void Matches_a_float64_loop_reference(string backendName, GridSampleMode mode, GridSamplePadding padding, bool align)
    {
        using var s = TensorScope.Begin();
        var backend = BackendRegistry.Get(backendName);
        var x = Values(1, -2, 2, N * C * H * W);
        // Positions up to 1.8 fall outside the input, so every padding mode matters.
        var grid = Values(2, -1.8, 1.8, N * Ho * Wo * 2);
        var expected = Reference(x, grid, mode, padding, align);
        var y = Ops.GridSample(Tensor.FromArray(x.Select(v => (float)v).ToArray(), new Shape(N, C, H, W), backend),
            Tensor.FromArray(grid.Select(v => (float)v).ToArray(), new Shape(N, Ho, Wo, 2), backend), mode, padding, align);
        y.Shape.Should().Be(new Shape(N, C, Ho, Wo));
        GradCheck.AssertClose(y.ToFloatArray(), expected, 1e-5, 1e-5, $"{mode} {padding} align={align}");
    }

    [TestCase(GridSampleMode.Bilinear, GridSamplePadding.Reflection, false)]
    [TestCase(GridSampleMode.Nearest, GridSamplePadding.Border, true)]
    [TestCase(GridSampleMode.Bilinear, GridSamplePadding.Zeros, true)]
    public void Loop_reference_agrees_with_libtorch_in_float64(GridSampleMode mode, GridSamplePadding padding, bool align)
    {
        // Validates the reference itself against libtorch's grid sampler (TorchSharp exposes nearest and bilinear).
        var x = Values(3, -2, 2, N * C * H * W);
        var grid = Values(4, -1.8, 1.8, N * Ho * Wo * 2);
        using var tx = torch.tensor(x, [N, C, H, W], torch.ScalarType.Float64);
        using var tg = torch.tensor(grid, [N, Ho, Wo, 2], torch.ScalarType.Float64);
        var torchMode = mode == GridSampleMode.Nearest ? torch.GridSampleMode.Nearest : torch.GridSampleMode.Bilinear;
        var torchPadding = padding switch
        {
            GridSamplePadding.Zeros => torch.GridSamplePaddingMode.Zeros,
            GridSamplePadding.Border => torch.GridSamplePaddingMode.Border,
            _ => torch.GridSamplePaddingMode.Reflection,
        };
        using var y = torch.nn.functional.grid_sample(tx, tg, torchMode, torchPadding, align);
        GradCheck.AssertClose(Reference(x, grid, mode, padding, align), y.data<double>().ToArray(), 1e-12, 1e-12, "reference vs libtorch");
    }

    [TestCase(GridSampleMode.Bilinear, GridSamplePadding.Zeros, false)]
    [TestCase(GridSampleMode.Bilinear, GridSamplePadding.Border, true)]
    [TestCase(GridSampleMode.Bilinear, GridSamplePadding.Reflection, false)]
    [TestCase(GridSampleMode.Bilinear, GridSamplePadding.Reflection, true)]
    [TestCase(GridSampleMode.Bicubic, GridSamplePadding.Zeros, false)]
    [TestCase(GridSampleMode.Bicubic, GridSamplePadding.Reflection, true)]
    [TestCase(GridSampleMode.Nearest, GridSamplePadding.Border, false)]
    public void Gradient_rule_matches_finite_differences_and_libtorch_autograd(GridSampleMode mode, GridSamplePadding padding, bool align) =>
        GradCheck.Check(t => Ops.GridSample(t[0], t[1], mode, padding, align),
            Arg.Random(5, -1, 1, N, C, H, W), Arg.Random(6, -1.6, 1.6, N, Ho, Wo, 2));

    [TestCase(GridSampleMode.Bilinear, GridSamplePadding.Reflection, false)]
    [TestCase(GridSampleMode.Bicubic, GridSamplePadding.Border, true)]
    [TestCase(GridSampleMode.Nearest, GridSamplePadding.Zeros, false)]
    public void Graph_backend_gradients_match_finite_differences_of_the_reference(GridSampleMode mode, GridSamplePadding padding, bool align)
    {
        using var s = TensorScope.Begin();
        var backend = BackendRegistry.Get("graph");
        var x = Values(7, -1, 1, N * C * H * W);
        var grid = Values(8, -1.6, 1.6, N * Ho * Wo * 2);
        var cot = Values(9, -1, 1, N * C * Ho * Wo);
        var tx = Tensor.FromArray(x.Select(v => (float)v).ToArray(), new Shape(N, C, H, W), backend);
        var tg = Tensor.FromArray(grid.Select(v => (float)v).ToArray(), new Shape(N, Ho, Wo, 2), backend);
        tx.RequiresGrad = true;
        tg.RequiresGrad = true;
        var y = Ops.GridSample(tx, tg, mode, padding, align);
        var loss = Ops.Sum(Ops.Mul(y, Tensor.FromArray(cot.Select(v => (float)v).ToArray(), y.Shape, backend)));
        var g = Autograd.Grad([loss], [tx, tg]);

        double Loss(double[] xs, double[] gs) => Reference(xs, gs, mode, padding, align).Zip(cot, (a, b) => a * b).Sum();
        GradCheck.AssertClose(g[0]!.ToFloatArray(), GradCheck.Numeric(x, v => Loss(v, grid)), 1e-4, 1e-5, "input gradient");
        GradCheck.AssertClose(g[1]!.ToFloatArray(), GradCheck.Numeric(grid, v => Loss(x, v)), 1e-4, 1e-4, "grid gradient");
    }

    [Test]
    public void Shape_rule_names_the_op_and_shapes()
    {
        using var s = TensorScope.Begin();
        FluentActions.Invoking(() => Ops.GridSample(Ops.Zeros(new Shape(1, 2, 3)), Ops.Zeros(new Shape(1, 2, 2, 2))))
            .Should().Throw<OpException>().WithMessage("*grid_sample*rank-4*");
        FluentActions.Invoking(() => Ops.GridSample(Ops.Zeros(new Shape(1, 2, 3, 3)), Ops.Zeros(new Shape(2, 2, 2, 2))))
            .Should().Throw<OpException>().WithMessage("*grid of shape (1, Hout, Wout, 2)*");
        FluentActions.Invoking(() => Ops.GridSample(Ops.Zeros(new Shape(1, 2, 3, 3)), Ops.Zeros(new Shape(1, 2, 2, 2), DType.Float64)))
            .Should().Throw<OpException>().WithMessage("*float32 and float64*");
    }

    /// <summary>GridSample by loops: unnormalise, pad the position (bilinear / nearest) or each integer tap (bicubic), weight.</summary>
    private static double[] Reference(double[] x, double[] grid, GridSampleMode mode, GridSamplePadding padding, bool align)
    {
        var y = new double[N * C * Ho * Wo];
        double Unnormalise(double g, long size) => align ? (g + 1) / 2 * (size - 1) : ((g + 1) * size - 1) / 2;
        double Pad(double u, long size)
        {
            if (padding == GridSamplePadding.Border) return Math.Clamp(u, 0, size - 1);
            if (padding == GridSamplePadding.Zeros) return u;
            double lo = align ? 0 : -0.5, hi = align ? size - 1 : size - 0.5;
            if (hi <= lo) return 0;
            while (u < lo || u > hi) u = u < lo ? 2 * lo - u : 2 * hi - u;
            return Math.Clamp(u, 0, size - 1);
        }
        double Cubic(double d)
        {
            const double a = -0.75;
            d = Math.Abs(d);
            return d <= 1 ? (a + 2) * d * d * d - (a + 3) * d * d + 1 : d < 2 ? a * d * d * d - 5 * a * d * d + 8 * a * d - 4 * a : 0;
        }
        for (long n = 0; n < N; n++)
            for (long c = 0; c < C; c++)
                for (long i = 0; i < Ho; i++)
                    for (long j = 0; j < Wo; j++)
                    {
                        long gi = ((n * Ho + i) * Wo + j) * 2;
                        double ux = Unnormalise(grid[gi], W), uy = Unnormalise(grid[gi + 1], H);
                        double At(double r, double q)
                        {
                            if (mode == GridSampleMode.Bicubic) (r, q) = (Pad(r, H), Pad(q, W));
                            return r < 0 || r > H - 1 || q < 0 || q > W - 1 ? 0 : x[((n * C + c) * H + (long)r) * W + (long)q];
                        }
                        double v = 0;
                        if (mode == GridSampleMode.Nearest)
                            v = At(Math.Round(Pad(uy, H), MidpointRounding.ToEven), Math.Round(Pad(ux, W), MidpointRounding.ToEven));
                        else if (mode == GridSampleMode.Bilinear)
                        {
                            double px = Pad(ux, W), py = Pad(uy, H), x0 = Math.Floor(px), y0 = Math.Floor(py);
                            for (int dy = 0; dy < 2; dy++)
                                for (int dx = 0; dx < 2; dx++)
                                    v += (1 - Math.Abs(px - x0 - dx)) * (1 - Math.Abs(py - y0 - dy)) * At(y0 + dy, x0 + dx);
                        }
                        else
                        {
                            double x0 = Math.Floor(ux), y0 = Math.Floor(uy);
                            for (int dy = -1; dy < 3; dy++)
                                for (int dx = -1; dx < 3; dx++)
                                    v += Cubic(ux - x0 - dx) * Cubic(uy - y0 - dy) * At(y0 + dy, x0 + dx);
                        }
                        y[((n * C + c) * Ho + i) * Wo + j] = v;
                    }
        return y;
    }
}
