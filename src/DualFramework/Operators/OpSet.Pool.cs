using DualFramework.Autodiff;
using static DualFramework.Ops;

namespace DualFramework.Operators;

/// <summary>Max pooling parameters, one entry per spatial dimension (1 to 3 of them; the op keeps its historical 2-D name).</summary>
/// <param name="Kernel">Window size (≥ 1).</param>
/// <param name="Stride">Step between windows (≥ 1).</param>
/// <param name="Padding">Implicit −∞ padding on both sides (0 ≤ padding ≤ kernel/2).</param>
/// <param name="Dilation">Spacing between window taps (≥ 1).</param>
/// <param name="CeilMode">Round the output size up (a last, partial window) instead of down.</param>
public sealed record MaxPool2dAttrs(long[] Kernel, long[] Stride, long[] Padding, long[] Dilation, bool CeilMode) : OpAttrs
{
    /// <summary>Number of spatial dimensions.</summary>
    public int SpatialRank => Kernel.Length;
}

/// <summary>Average pooling parameters, one entry per spatial dimension (1 to 3 of them; the op keeps its historical 2-D name).</summary>
/// <param name="Kernel">Window size (≥ 1).</param>
/// <param name="Stride">Step between windows (≥ 1).</param>
/// <param name="Padding">Implicit zero padding on both sides (0 ≤ padding ≤ kernel/2).</param>
/// <param name="CountIncludePad">Divide by the window size clipped to the padded input (true) or by the number of
/// non-padding elements (false), as PyTorch and ONNX.</param>
/// <param name="CeilMode">Round the output size up (a last, partial window) instead of down.</param>
public sealed record AvgPool2dAttrs(long[] Kernel, long[] Stride, long[] Padding, bool CountIncludePad, bool CeilMode = false) : OpAttrs
{
    /// <summary>Number of spatial dimensions.</summary>
    public int SpatialRank => Kernel.Length;
}

/// <summary>Output spatial size of max unpooling (1 to 3 entries).</summary>
/// <param name="OutSize">Output size per spatial dimension (each ≥ 1).</param>
public sealed record MaxUnpool2dAttrs(long[] OutSize) : OpAttrs
{
    /// <summary>A 2-D output plane <paramref name="outH"/>×<paramref name="outW"/>.</summary>
    public MaxUnpool2dAttrs(long outH, long outW) : this([outH, outW]) { }
}

/// <summary>Output size of adaptive pooling.</summary>
/// <param name="OutH">Output height (≥ 1).</param>
/// <param name="OutW">Output width (≥ 1).</param>
public sealed record AdaptivePool2dAttrs(long OutH, long OutW) : OpAttrs;

/// <summary>
/// Max pooling of <c>[N, C, *S]</c> with 1 to 3 spatial dimensions. Two outputs: the maxima and their int64 positions,
/// each flattened over its spatial volume (<c>h·W + w</c> in 2-D, as libtorch returns them). Only the maxima carry a gradient.
/// </summary>
public sealed class MaxPool2dOp : Op<MaxPool2dAttrs>
{
    internal MaxPool2dOp() : base("max_pool2d") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, MaxPool2dAttrs attrs)
    {
        Arity(inputs, 1);
        int d = attrs.SpatialRank;
        var x = PoolChecks.Input(this, inputs, d);
        if (attrs.Stride.Length != d || attrs.Padding.Length != d || attrs.Dilation.Length != d)
            throw Fail(inputs, $"kernel, stride, padding and dilation need {d} entries each");
        var dims = new long[d + 2];
        (dims[0], dims[1]) = (x[0], x[1]);
        for (int i = 0; i < d; i++)
            dims[2 + i] = PoolChecks.OutSize(this, inputs, i, attrs.Kernel[i], attrs.Stride[i], attrs.Padding[i], attrs.Dilation[i], attrs.CeilMode);
        var shape = Shape.Own(dims);
        return [new TensorSpec(shape, inputs[0].DType), new TensorSpec(shape, DType.Int64)];
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        if (!ctx.NeedsGrad(0)) return [null];
        Tensor x = ctx.Inputs[0], idx = ctx.Outputs[1], g = ctx.Grad;
        Shape s = x.Shape;
        var spatial = s.Dims[2..].ToArray();
        // Windows that cannot share a position (span ≤ stride) route each gradient to a distinct place: an unpooling, which
        // ONNX Runtime runs several times faster than an accumulating scatter.
        var a = ctx.AttrsAs<MaxPool2dAttrs>();
        bool disjoint = true;
        for (int i = 0; i < a.SpatialRank; i++) disjoint &= a.Dilation[i] * (a.Kernel[i] - 1) + 1 <= a.Stride[i];
        if (disjoint) return [MaxUnpoolTo(g, idx, spatial)];
        long n = s[0], c = s[1], volume = PoolChecks.Volume(spatial), outVolume = PoolChecks.Volume(idx.Shape.Dims[2..].ToArray());
        var gx = ScatterAdd(Zeros(new Shape(n, c, volume), x.DType, x.Backend), Reshape(idx, n, c, outVolume), Reshape(g, n, c, outVolume), 2);
        return [Reshape(gx, s.ToArray())];
    }
}

/// <summary>
/// The partial inverse of <see cref="MaxPool2dOp"/>: a zero <c>[N, C, *OutSize]</c> tensor with each value of <c>x</c>
/// (<c>[N, C, *S]</c>, 1 to 3 spatial dimensions) written at its int64 position <c>indices</c> (same shape, flattened over
/// the output's spatial volume, as max pooling returns them). Positions must be distinct within a volume (they are for
/// pooling windows that do not overlap); with repeats the value written is unspecified, as in PyTorch and ONNX.
/// </summary>
public sealed class MaxUnpool2dOp : Op<MaxUnpool2dAttrs>
{
    internal MaxUnpool2dOp() : base("max_unpool2d") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, MaxUnpool2dAttrs attrs)
    {
        Arity(inputs, 2);
        int d = attrs.OutSize.Length;
        var x = PoolChecks.Input(this, inputs, d);
        if (inputs[1].DType != DType.Int64) throw Fail(inputs, $"indices must be int64, got {inputs[1].DType.Name()}");
        if (inputs[1].Shape != x) throw Fail(inputs, $"indices must have the input's shape {x}, got {inputs[1].Shape}");
        string size = string.Join("×", attrs.OutSize);
        if (attrs.OutSize.Any(v => v < 1)) throw Fail(inputs, $"output size {size} must be positive");
        if (PoolChecks.Volume(attrs.OutSize) < PoolChecks.Volume(x.Dims[2..].ToArray()))
            throw Fail(inputs, $"output volume {size} is smaller than the input's {string.Join("×", x.Dims[2..].ToArray())}: positions would repeat");
        return One(Shape.Own([x[0], x[1], .. attrs.OutSize]), inputs[0].DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        if (!ctx.NeedsGrad(0)) return [null, null];
        Tensor x = ctx.Inputs[0], idx = ctx.Inputs[1], g = ctx.Grad;
        long n = x.Shape[0], c = x.Shape[1];
        long outVolume = PoolChecks.Volume(g.Shape.Dims[2..].ToArray()), inVolume = PoolChecks.Volume(x.Shape.Dims[2..].ToArray());
        // Each input value went to one output position: its gradient is read back from there.
        var gx = GatherElements(Reshape(g, n, c, outVolume), Reshape(idx, n, c, inVolume), 2);
        return [Reshape(gx, x.Shape.ToArray()), null];
    }
}

/// <summary>Average pooling of <c>[N, C, *S]</c> with 1 to 3 spatial dimensions (floor or ceil output size).</summary>
public sealed class AvgPool2dOp : Op<AvgPool2dAttrs>
{
    internal AvgPool2dOp() : base("avg_pool2d") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, AvgPool2dAttrs attrs)
    {
        Arity(inputs, 1);
        int d = attrs.SpatialRank;
        var x = PoolChecks.Input(this, inputs, d);
        if (attrs.Stride.Length != d || attrs.Padding.Length != d) throw Fail(inputs, $"kernel, stride and padding need {d} entries each");
        var dims = new long[d + 2];
        (dims[0], dims[1]) = (x[0], x[1]);
        for (int i = 0; i < d; i++)
            dims[2 + i] = PoolChecks.OutSize(this, inputs, i, attrs.Kernel[i], attrs.Stride[i], attrs.Padding[i], 1, attrs.CeilMode);
        return One(Shape.Own(dims), inputs[0].DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        if (!ctx.NeedsGrad(0)) return [null];
        var a = ctx.AttrsAs<AvgPool2dAttrs>();
        Tensor x = ctx.Inputs[0], g = ctx.Grad;
        int d = a.SpatialRank;
        long c = x.Shape[1];
        var inSize = x.Shape.Dims[2..].ToArray();
        var outSize = g.Shape.Dims[2..].ToArray();
        Tensor scaled;
        if (a.CountIncludePad && !a.CeilMode) scaled = Div(g, (double)PoolChecks.Volume(a.Kernel));
        else
        {
            // The divisor of each window (a constant of the geometry): its size clipped to the input (and, with
            // count_include_pad, to the padding), the product of one count per axis.
            var counts = new double[PoolChecks.Volume(outSize)];
            for (long flat = 0; flat < counts.Length; flat++)
            {
                double prod = 1;
                long rest = flat;
                for (int i = d - 1; i >= 0; i--)
                {
                    long o = rest % outSize[i];
                    rest /= outSize[i];
                    prod *= PoolChecks.Inside(o, a.Stride[i], a.Padding[i], a.Kernel[i], inSize[i], a.CountIncludePad);
                }
                counts[flat] = prod;
            }
            scaled = Div(g, Cast(Tensor.FromArray(counts, new Shape(outSize), x.Backend), g.DType));
        }
        // Spreading each window's share back over the window is a depthwise transposed conv with a ones kernel; in ceil
        // mode its output can run past the input's end (a last window reaching beyond it), and that surplus is cut off.
        var ones = Ones(new Shape([c, 1, .. a.Kernel]), g.DType, g.Backend);
        var outPad = new long[d];
        bool surplus = false;
        for (int i = 0; i < d; i++)
        {
            long reach = (outSize[i] - 1) * a.Stride[i] - 2 * a.Padding[i] + a.Kernel[i];
            if (reach <= inSize[i] && inSize[i] - reach < a.Stride[i]) outPad[i] = inSize[i] - reach;
            else surplus = true;
        }
        var gx = ConvTranspose(scaled, ones, null, new ConvTransposeAttrs(a.Stride, a.Padding, outPad, Enumerable.Repeat(1L, d).ToArray(), c));
        if (surplus) gx = Slice(gx, new SliceAttrs(Enumerable.Range(2, d).ToArray(), new long[d], inSize, Enumerable.Repeat(1L, d).ToArray()));
        return [gx];
    }
}

/// <summary>
/// Adaptive 2-D average pooling of <c>[N, C, H, W]</c> to <c>[N, C, outH, outW]</c>: output row i averages input rows
/// <c>⌊i·H/outH⌋ … ⌈(i+1)·H/outH⌉ − 1</c> (PyTorch's windows), likewise for columns.
/// </summary>
public sealed class AdaptiveAvgPool2dOp : Op<AdaptivePool2dAttrs>
{
    internal AdaptiveAvgPool2dOp() : base("adaptive_avg_pool2d") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, AdaptivePool2dAttrs attrs)
    {
        Arity(inputs, 1);
        var x = PoolChecks.Input(this, inputs);
        if (attrs.OutH < 1 || attrs.OutW < 1) throw Fail(inputs, $"output size ({attrs.OutH}, {attrs.OutW}) must be positive");
        return One(Shape.Own([x[0], x[1], attrs.OutH, attrs.OutW]), inputs[0].DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        if (!ctx.NeedsGrad(0)) return [null];
        var a = ctx.AttrsAs<AdaptivePool2dAttrs>();
        Tensor x = ctx.Inputs[0], g = ctx.Grad;
        // y = Ph · x · Pwᵀ per plane, so gx = Phᵀ · g · Pw with constant averaging matrices.
        var phT = Transpose(PoolChecks.AdaptiveMatrix(a.OutH, x.Shape[2], g));
        var pw = PoolChecks.AdaptiveMatrix(a.OutW, x.Shape[3], g);
        return [MatMul(MatMul(phT, g), pw)];
    }
}

internal static class PoolChecks
{
    /// <summary>Checks a floating <c>[N, C, H, W]</c> operand with non-empty C, H, W.</summary>
    public static Shape Input(Op op, ReadOnlySpan<TensorSpec> inputs) => Input(op, inputs, 2);

    /// <summary>Checks a floating <c>[N, C, *S]</c> operand with <paramref name="d"/> (1 to 3) non-empty spatial sizes and non-empty C.</summary>
    public static Shape Input(Op op, ReadOnlySpan<TensorSpec> inputs, int d)
    {
        var x = inputs[0];
        if (d is not (1 or 2 or 3)) throw Fail(op, inputs, $"supports 1 to 3 spatial dimensions, got {d}");
        if (!x.DType.IsFloating()) throw Fail(op, inputs, $"needs a floating operand, got {x.DType.Name()}");
        string layout = d switch { 1 => "[N, C, L]", 2 => "[N, C, H, W]", _ => "[N, C, D, H, W]" };
        if (x.Shape.Rank != d + 2) throw Fail(op, inputs, $"input must have rank {d + 2} {layout}, got {x.Shape}");
        for (int i = 1; i < x.Shape.Rank; i++)
            if (x.Shape[i] < 1) throw Fail(op, inputs, $"channel and spatial sizes must be non-zero, got {x.Shape}");
        return x.Shape;
    }

    /// <summary>
    /// Output size of a pooling window along spatial axis <paramref name="axis"/> (as libtorch and ONNX): in ceil mode a
    /// last, partial window is kept only if it starts inside the input or the left padding.
    /// </summary>
    public static long OutSize(Op op, ReadOnlySpan<TensorSpec> inputs, int axis, long k, long s, long p, long dil, bool ceil)
    {
        long n = inputs[0].Shape[2 + axis];
        Window(op, inputs, k, s, p);
        if (dil < 1) throw Fail(op, inputs, $"dilation must be positive, got {dil}");
        long span = dil * (k - 1) + 1;
        if (n + 2 * p < span)
            throw Fail(op, inputs, $"kernel size {k} (dilation {dil}, span {span}) is larger than the padded input size {n + 2 * p} along spatial dimension {axis}");
        long o = (n + 2 * p - span + (ceil ? s - 1 : 0)) / s + 1;
        if (ceil && (o - 1) * s >= n + p) o--;
        return o;
    }

    /// <summary>Product of the sizes (the number of elements in a spatial volume).</summary>
    public static long Volume(long[] sizes) => sizes.Aggregate(1L, (a, v) => a * v);

    public static void Window(Op op, ReadOnlySpan<TensorSpec> inputs, long k, long s, long p)
    {
        if (k < 1) throw Fail(op, inputs, $"kernel size must be positive, got {k}");
        if (s < 1) throw Fail(op, inputs, $"stride must be positive, got {s}");
        if (p < 0) throw Fail(op, inputs, $"padding must be non-negative, got {p}");
        if (p > k / 2) throw Fail(op, inputs, $"padding {p} must be at most half the kernel size {k}");
    }

    private static OpException Fail(Op op, ReadOnlySpan<TensorSpec> inputs, string reason) =>
        new(op.Name, inputs.ToArray(), reason, LayerPath.Current);

    /// <summary>
    /// Divisor of window <paramref name="i"/> along one axis: its input positions (not padding) or, with
    /// <paramref name="includePad"/>, its size clipped to the padded input (PyTorch's and ONNX's count_include_pad).
    /// </summary>
    public static long Inside(long i, long s, long p, long k, long n, bool includePad = false)
    {
        long start = i * s - p, end = start + k;
        return includePad ? Math.Min(end, n + p) - start : Math.Min(end, n) - Math.Max(start, 0);
    }

    /// <summary>The <c>[outSize, inSize]</c> matrix averaging each adaptive window, as a constant like <paramref name="like"/>.</summary>
    public static Tensor AdaptiveMatrix(long outSize, long inSize, Tensor like)
    {
        var m = new double[outSize * inSize];
        for (long i = 0; i < outSize; i++)
        {
            long start = i * inSize / outSize, end = ((i + 1) * inSize + outSize - 1) / outSize;
            for (long j = start; j < end; j++) m[i * inSize + j] = 1.0 / (end - start);
        }
        return Cast(Tensor.FromArray(m, new Shape(outSize, inSize), like.Backend), like.DType);
    }
}

public static partial class OpSet
{
    /// <summary>1-D to 3-D max pooling (values and flattened indices).</summary>
    public static readonly MaxPool2dOp MaxPool2d = new();

    /// <summary>1-D to 3-D max unpooling (the partial inverse of max pooling).</summary>
    public static readonly MaxUnpool2dOp MaxUnpool2d = new();

    /// <summary>1-D to 3-D average pooling.</summary>
    public static readonly AvgPool2dOp AvgPool2d = new();

    /// <summary>Adaptive 2-D average pooling.</summary>
    public static readonly AdaptiveAvgPool2dOp AdaptiveAvgPool2d = new();
}
