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

    // Every constant below is a 0-dim tensor owned by the dispose scope, and sums go through Add/Sub with the shared alpha:
    // TorchSharp turns a C# number in tensor arithmetic, and the alpha of its + and − operators, into finalizable Scalars
    // that nothing disposes (the handle-lifetime tests count them).
    private static TT Add(TT a, TT b) => a.add(b, ScalarOne);

    private static TT Sub(TT a, TT b) => a.sub(b);

    private static TT Bicubic(TT x, TT grid, GridSampleAttrs a)
    {
        using var scope = torch.NewDisposeScope();
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3], p = grid.shape[1] * grid.shape[2];
        TT K(double v) => torch.tensor(v, grid.dtype);
        var g = grid.reshape(n, p, 2);
        var (ix, tx) = Split(g.select(2, 0), w, a.AlignCorners, K);
        var (iy, ty) = Split(g.select(2, 1), h, a.AlignCorners, K);
        var flat = x.reshape(n, c, h * w);
        var width = torch.tensor(w, torch.ScalarType.Int64);
        TT? sum = null;
        for (int j = 0; j < 4; j++)
        {
            var (rowIndex, rowOk) = Tap(Add(iy, K(j - 1)), h, a, K);
            var wy = Weight(j, ty, K) * rowOk;
            for (int i = 0; i < 4; i++)
            {
                var (colIndex, colOk) = Tap(Add(ix, K(i - 1)), w, a, K);
                var index = Add(rowIndex * width, colIndex).reshape(n, 1, p).expand(n, c, p);
                var term = flat.gather(2, index) * (Weight(i, tx, K) * colOk * wy).reshape(n, 1, p);
                sum = sum is null ? term : Add(sum, term);
            }
        }
        return sum!.reshape(n, c, grid.shape[1], grid.shape[2]).MoveToOuterDisposeScope();
    }

    /// <summary>The integer part and the fraction of the unnormalised coordinate.</summary>
    private static (TT Floor, TT Frac) Split(TT coord, long size, bool align, Func<double, TT> k)
    {
        var u = align ? Add(coord, k(1)) * k((size - 1) / 2.0) : Sub(Add(coord, k(1)) * k(size), k(1)) / k(2);
        var f = u.floor();
        return (f, Sub(u, f));
    }

    /// <summary>An integer position after padding (int64, clamped into range) and 1 where it reads the input, 0 where zeros.</summary>
    private static (TT Index, TT Ok) Tap(TT pos, long size, GridSampleAttrs a, Func<double, TT> k)
    {
        TT Clamp(TT v) => torch.minimum(torch.maximum(v, k(0)), k(size - 1));
        if (a.Padding == GridSamplePadding.Border) pos = Clamp(pos);
        else if (a.Padding == GridSamplePadding.Reflection)
        {
            if (a.AlignCorners && size <= 1) pos = torch.zeros_like(pos);
            else
            {
                double low = a.AlignCorners ? 0 : -0.5, span = a.AlignCorners ? size - 1 : size;
                var v = Sub(pos, k(low)).abs();
                var extra = v.fmod(k(span));
                var even = (v / k(span)).floor().remainder(k(2)).eq(k(0));
                pos = Clamp(torch.where(even, Add(extra, k(low)), Sub(k(span + low), extra)));
            }
        }
        var ok = pos.ge(k(0)).logical_and(pos.le(k(size - 1)));
        return (torch.where(ok, pos, torch.zeros_like(pos)).to_type(torch.ScalarType.Int64), ok.to_type(pos.dtype));
    }

    /// <summary>Keys' cubic convolution weight of tap i (at distance 1 + t, t, 1 − t, 2 − t).</summary>
    private static TT Weight(int i, TT t, Func<double, TT> k)
    {
        TT Near(TT s) => Add(Sub(k(A + 2) * s, k(A + 3)) * s * s, k(1));
        TT Far(TT s) => Sub(Add(Sub(k(A) * s, k(5 * A)) * s, k(8 * A)) * s, k(4 * A));
        return i switch { 0 => Far(Add(t, k(1))), 1 => Near(t), 2 => Near(Sub(k(1), t)), _ => Far(Sub(k(2), t)) };
    }
}
