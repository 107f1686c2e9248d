using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the grid-sample family (<c>OpSet.GridSample.cs</c>): GridSample.</summary>
internal static class GridSampleKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.GridSample, (x, a, o) =>
        {
            var padding = a.Padding switch
            {
                GridSamplePadding.Zeros => torch.GridSamplePaddingMode.Zeros,
                GridSamplePadding.Border => torch.GridSamplePaddingMode.Border,
                _ => torch.GridSamplePaddingMode.Reflection,
            };
            TT input = Operand(x, 0), grid = Operand(x, 1);
            // Half-precision positions and weights lose whole sub-pixel steps: compute in float32, as the graph backend
            // does (ONNX Runtime has float32 kernels only), and round the result once.
            bool half = input.dtype is torch.ScalarType.Float16 or torch.ScalarType.BFloat16;
            using var wideInput = half ? input.to_type(torch.ScalarType.Float32) : null;
            using var wideGrid = half ? grid.to_type(torch.ScalarType.Float32) : null;
            // TorchSharp's native glue passes only nearest and bilinear to libtorch's grid sampler; bicubic is composed
            // from libtorch ops (gathers of the 4×4 taps), which libtorch autograd differentiates.
            var y = a.Mode switch
            {
                GridSampleMode.Nearest => torch.nn.functional.grid_sample(wideInput ?? input, wideGrid ?? grid, torch.GridSampleMode.Nearest, padding, a.AlignCorners),
                GridSampleMode.Bilinear => torch.nn.functional.grid_sample(wideInput ?? input, wideGrid ?? grid, torch.GridSampleMode.Bilinear, padding, a.AlignCorners),
                _ => Bicubic(wideInput ?? input, wideGrid ?? grid, a),
            };
            if (!half) return y;
            using (y) return y.to_type(input.dtype);
        });
    }

    private const double A = -0.75;

    private static TT Bicubic(TT x, TT grid, GridSampleAttrs a)
    {
        using var scope = torch.NewDisposeScope();
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3], p = grid.shape[1] * grid.shape[2];
        var g = grid.reshape(n, p, 2);
        var (ix, tx) = Split(g.select(2, 0), w, a.AlignCorners);
        var (iy, ty) = Split(g.select(2, 1), h, a.AlignCorners);
        var flat = x.reshape(n, c, h * w);
        TT? sum = null;
        for (int j = 0; j < 4; j++)
        {
            var (rowIndex, rowOk) = Tap(iy + (j - 1), h, a);
            var wy = Weight(j, ty) * rowOk;
            for (int i = 0; i < 4; i++)
            {
                var (colIndex, colOk) = Tap(ix + (i - 1), w, a);
                var index = (rowIndex * w + colIndex).reshape(n, 1, p).expand(n, c, p);
                var term = flat.gather(2, index) * (Weight(i, tx) * colOk * wy).reshape(n, 1, p);
                sum = sum is null ? term : sum + term;
            }
        }
        return sum!.reshape(n, c, grid.shape[1], grid.shape[2]).MoveToOuterDisposeScope();
    }

    /// <summary>The integer part and the fraction of the unnormalised coordinate.</summary>
    private static (TT Floor, TT Frac) Split(TT coord, long size, bool align)
    {
        var u = align ? (coord + 1) * ((size - 1) / 2.0) : ((coord + 1) * size - 1) / 2;
        var f = u.floor();
        return (f, u - f);
    }

    /// <summary>An integer position after padding (int64, clamped into range) and 1 where it reads the input, 0 where zeros.</summary>
    private static (TT Index, TT Ok) Tap(TT pos, long size, GridSampleAttrs a)
    {
        if (a.Padding == GridSamplePadding.Border) pos = pos.clamp(0, size - 1);
        else if (a.Padding == GridSamplePadding.Reflection)
        {
            if (a.AlignCorners && size <= 1) pos = torch.zeros_like(pos);
            else
            {
                double low = a.AlignCorners ? 0 : -0.5, span = a.AlignCorners ? size - 1 : size;
                var v = (pos - low).abs();
                var extra = v.fmod(span);
                var even = (v / span).floor().remainder(2).eq(0);
                pos = torch.where(even, extra + low, span + low - extra).clamp(0, size - 1);
            }
        }
        var ok = pos.ge(0).logical_and(pos.le(size - 1));
        return (torch.where(ok, pos, torch.zeros_like(pos)).to_type(torch.ScalarType.Int64), ok.to_type(pos.dtype));
    }

    /// <summary>Keys' cubic convolution weight of tap k (at distance 1 + t, t, 1 − t, 2 − t).</summary>
    private static TT Weight(int k, TT t)
    {
        static TT Near(TT s) => ((A + 2) * s - (A + 3)) * s * s + 1;
        static TT Far(TT s) => ((A * s - 5 * A) * s + 8 * A) * s - 4 * A;
        return k switch { 0 => Far(t + 1), 1 => Near(t), 2 => Near(1 - t), _ => Far(2 - t) };
    }
}
