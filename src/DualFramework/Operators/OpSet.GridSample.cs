using DualFramework.Autodiff;
using static DualFramework.Ops;

namespace DualFramework.Operators;

/// <summary>How <c>grid_sample</c> interpolates between pixels.</summary>
public enum GridSampleMode
{
    /// <summary>Weighted mean of the 2×2 neighbouring pixels.</summary>
    Bilinear,

    /// <summary>The nearest pixel (ties round to even, as libtorch and ONNX Runtime do).</summary>
    Nearest,

    /// <summary>Cubic convolution (A = −0.75) over the 4×4 neighbouring pixels.</summary>
    Bicubic,
}

/// <summary>What <c>grid_sample</c> reads at positions outside the input.</summary>
public enum GridSamplePadding
{
    /// <summary>Zero.</summary>
    Zeros,

    /// <summary>The nearest border pixel.</summary>
    Border,

    /// <summary>The input mirrored at its border (repeatedly, for positions far outside).</summary>
    Reflection,
}

/// <summary>Attributes of <c>grid_sample</c>.</summary>
/// <param name="Mode">Interpolation.</param>
/// <param name="Padding">Values outside the input.</param>
/// <param name="AlignCorners">When true, −1 and 1 are the centres of the corner pixels; otherwise their outer edges.</param>
public sealed record GridSampleAttrs(GridSampleMode Mode, GridSamplePadding Padding, bool AlignCorners) : OpAttrs;

/// <summary>
/// <c>grid_sample(x, grid)</c>: x (N, C, H, W) read at the normalised positions of grid (N, Hₒ, Wₒ, 2), whose last axis
/// holds (x, y) in [−1, 1]; the output is (N, C, Hₒ, Wₒ) — PyTorch <c>F.grid_sample</c>, ONNX GridSample (opset 16).
/// </summary>
/// <remarks>The gradient is built from ops: every output reads a few input pixels ("taps") with weights that depend on
/// the grid only, so the input gradient scatter-adds the output gradient times each tap's weight, and the grid gradient
/// sums the output gradient times each tap's value times the derivative of its weight (zero for nearest).</remarks>
public sealed class GridSampleOp : Op<GridSampleAttrs>
{
    internal GridSampleOp() : base("grid_sample") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, GridSampleAttrs attrs)
    {
        Arity(inputs, 2);
        var (x, grid) = (inputs[0], inputs[1]);
        if (x.Shape.Rank != 4) throw Fail(inputs, $"expects a rank-4 (N, C, H, W) input, got rank {x.Shape.Rank}");
        if (grid.Shape.Rank != 4 || grid.Shape[3] != 2 || grid.Shape[0] != x.Shape[0])
            throw Fail(inputs, $"expects a grid of shape ({x.Shape[0]}, Hout, Wout, 2), got {grid.Shape}");
        if (!x.DType.IsFloating() || grid.DType != x.DType)
            throw Fail(inputs, $"expects floating input and grid of one dtype, got {x.DType.Name()} and {grid.DType.Name()}");
        return One(new Shape(x.Shape[0], x.Shape[1], grid.Shape[1], grid.Shape[2]), x.DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        bool needX = ctx.NeedsGrad(0), needGrid = ctx.NeedsGrad(1);
        if (!needX && !needGrid) return [null, null];
        var a = ctx.AttrsAs<GridSampleAttrs>();
        Tensor x = ctx.Inputs[0], grid = ctx.Inputs[1], g = ctx.Grad;
        long n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3], p = grid.Shape[1] * grid.Shape[2];
        var xTaps = AxisTaps(Reshape(Slice(grid, 3, 0, 1), n, p), w, a);
        var yTaps = AxisTaps(Reshape(Slice(grid, 3, 1, 2), n, p), h, a);
        var gf = Reshape(g, n, c, p);
        var xf = Reshape(x, n, c, h * w);
        Tensor? gx = needX ? Zeros(new Shape(n, c, h * w), x.DType, x.Backend) : null;
        Tensor? ggx = null, ggy = null;
        foreach (var ty in yTaps)
        {
            foreach (var tx in xTaps)
            {
                var index = BroadcastTo(Reshape(Add(Mul(ty.Index, w), tx.Index), n, 1, p), new Shape(n, c, p));
                if (gx != null) gx = ScatterAdd(gx, index, Mul(gf, Reshape(Mul(ty.Weight, tx.Weight), n, 1, p)), 2);
                if (!needGrid || a.Mode == GridSampleMode.Nearest) continue;
                // d out / d weight of this tap is its value; summed over channels.
                var gv = Sum(Mul(gf, GatherElements(xf, index, 2)), 1);
                var dx = Mul(gv, Mul(tx.Slope, ty.Weight));
                var dy = Mul(gv, Mul(tx.Weight, ty.Slope));
                ggx = ggx == null ? dx : Add(ggx, dx);
                ggy = ggy == null ? dy : Add(ggy, dy);
            }
        }
        Tensor? ggrid = null;
        if (needGrid)
        {
            ggrid = ggx == null || ggy == null
                ? ZerosLike(grid)
                : Reshape(Concat([Reshape(ggx, n, p, 1), Reshape(ggy, n, p, 1)], 2), grid.Shape.ToArray());
        }
        return [gx == null ? null : Reshape(gx, x.Shape.ToArray()), ggrid];
    }

    /// <summary>One input position read along one axis: its index (int64, in range), weight (zero where the position
    /// lies outside the input under zeros padding) and the weight's derivative with respect to the grid coordinate.</summary>
    private readonly record struct Tap(Tensor Index, Tensor Weight, Tensor Slope);

    /// <summary>The taps of one axis of size <paramref name="size"/> for normalised coordinates <paramref name="coord"/>
    /// (N, P), following libtorch's grid sampler: bilinear and nearest pad the unnormalised coordinate, bicubic pads each
    /// of its four integer positions.</summary>
    private static Tap[] AxisTaps(Tensor coord, long size, GridSampleAttrs a)
    {
        // u = ((g + 1) * size − 1) / 2, or (g + 1) * (size − 1) / 2 with aligned corners.
        double scale = a.AlignCorners ? (size - 1) / 2.0 : size / 2.0;
        var u = a.AlignCorners ? Mul(Add(coord, 1.0), scale) : Sub(Mul(Add(coord, 1.0), scale), 0.5);
        switch (a.Mode)
        {
            case GridSampleMode.Nearest:
                {
                    var (pos, _) = PadCoordinate(u, size, a);
                    return [Bounded(Round(pos), size, OnesLike(pos), ZerosLike(pos))];
                }
            case GridSampleMode.Bilinear:
                {
                    var (pos, slope) = PadCoordinate(u, size, a);
                    var i0 = Floor(pos);
                    var t = Sub(pos, i0);
                    var ds = Mul(slope, scale);
                    return [Bounded(i0, size, RSub(1.0, t), Neg(ds)), Bounded(Add(i0, 1.0), size, t, ds)];
                }
            default:
                {
                    var i0 = Floor(u);
                    var t = Sub(u, i0);
                    var taps = new Tap[4];
                    for (int k = 0; k < 4; k++)
                    {
                        var (pos, _) = PadCoordinate(Add(i0, k - 1.0), size, a);
                        taps[k] = Bounded(pos, size, CubicWeight(k, t), Mul(CubicSlope(k, t), scale));
                    }
                    return taps;
                }
        }
    }

    private static Tap Bounded(Tensor pos, long size, Tensor weight, Tensor slope)
    {
        var inside = LogicalAnd(GreaterEqual(pos, 0.0), LessEqual(pos, size - 1.0));
        var index = Cast(Where(inside, pos, 0.0), DType.Int64);
        return new Tap(index, Where(inside, weight, 0.0), Where(inside, slope, 0.0));
    }

    private const double CubicA = -0.75;

    // Keys' cubic convolution: |s| ≤ 1: (A+2)|s|³ − (A+3)|s|² + 1; 1 < |s| < 2: A|s|³ − 5A|s|² + 8A|s| − 4A; tap k sits at
    // distance 1 + t, t, 1 − t, 2 − t from the sample.
    private static Tensor Near(Tensor s) => Add(Mul(Mul(s, s), Sub(Mul(s, CubicA + 2), CubicA + 3)), 1.0);

    private static Tensor NearSlope(Tensor s) => Mul(s, Sub(Mul(s, 3 * (CubicA + 2)), 2 * (CubicA + 3)));

    private static Tensor Far(Tensor s) => Sub(Mul(Add(Mul(Sub(Mul(s, CubicA), 5 * CubicA), s), 8 * CubicA), s), 4 * CubicA);

    private static Tensor FarSlope(Tensor s) => Add(Mul(Sub(Mul(s, 3 * CubicA), 10 * CubicA), s), 8 * CubicA);

    private static Tensor CubicWeight(int k, Tensor t) => k switch
    {
        0 => Far(Add(t, 1.0)),
        1 => Near(t),
        2 => Near(RSub(1.0, t)),
        _ => Far(RSub(2.0, t)),
    };

    private static Tensor CubicSlope(int k, Tensor t) => k switch
    {
        0 => FarSlope(Add(t, 1.0)),
        1 => NearSlope(t),
        2 => Neg(NearSlope(RSub(1.0, t))),
        _ => Neg(FarSlope(RSub(2.0, t))),
    };

    /// <summary>The padded coordinate and its derivative with respect to <paramref name="u"/> (0 where clipped).</summary>
    private static (Tensor Pos, Tensor Slope) PadCoordinate(Tensor u, long size, GridSampleAttrs a)
    {
        switch (a.Padding)
        {
            case GridSamplePadding.Zeros: return (u, OnesLike(u));
            case GridSamplePadding.Border: return Clip(u, OnesLike(u), size);
            default:
                {
                    if (a.AlignCorners && size <= 1) return (ZerosLike(u), ZerosLike(u));
                    // Mirror about [−0.5, size − 0.5] (pixel edges) or [0, size − 1] (aligned centres), then clip.
                    double low = a.AlignCorners ? 0 : -0.5, span = a.AlignCorners ? size - 1 : size;
                    var v = Sub(u, low);
                    var sign = Where(Less(v, 0.0), FullLike(u, -1.0), OnesLike(u));
                    v = Abs(v);
                    var extra = Fmod(v, FullLike(v, span));
                    var even = Equal(Remainder(Floor(Div(v, span)), FullLike(v, 2.0)), 0.0);
                    var pos = Where(even, Add(extra, low), RSub(span + low, extra));
                    var slope = Where(even, sign, Neg(sign));
                    return a.AlignCorners ? (pos, slope) : Clip(pos, slope, size);
                }
        }
    }

    private static (Tensor Pos, Tensor Slope) Clip(Tensor u, Tensor slope, long size)
    {
        var inside = LogicalAnd(Greater(u, 0.0), Less(u, size - 1.0));
        return (Clamp(u, 0, size - 1), Where(inside, slope, 0.0));
    }
}

public static partial class OpSet
{
    /// <summary>Sampling of an image at normalised grid positions (spatial transformers, ONNX GridSample).</summary>
    public static readonly GridSampleOp GridSample = new();
}
