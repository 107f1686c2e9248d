using DualFramework.Autodiff;
using static DualFramework.Ops;

namespace DualFramework.Operators;

/// <summary>2-D max pooling parameters, each (height, width).</summary>
/// <param name="Kernel">Window size (≥ 1).</param>
/// <param name="Stride">Step between windows (≥ 1).</param>
/// <param name="Padding">Implicit −∞ padding on both sides (0 ≤ padding ≤ kernel/2).</param>
/// <param name="Dilation">Spacing between window taps (≥ 1).</param>
/// <param name="CeilMode">Round the output size up (a last, partial window) instead of down.</param>
public sealed record MaxPool2dAttrs(long[] Kernel, long[] Stride, long[] Padding, long[] Dilation, bool CeilMode) : OpAttrs;

/// <summary>2-D average pooling parameters, each (height, width).</summary>
/// <param name="Kernel">Window size (≥ 1).</param>
/// <param name="Stride">Step between windows (≥ 1).</param>
/// <param name="Padding">Implicit zero padding on both sides (0 ≤ padding ≤ kernel/2).</param>
/// <param name="CountIncludePad">Divide by the full window size (true) or by the number of non-padding elements (false).</param>
public sealed record AvgPool2dAttrs(long[] Kernel, long[] Stride, long[] Padding, bool CountIncludePad) : OpAttrs;

/// <summary>Output plane size of max unpooling.</summary>
/// <param name="OutH">Output height (≥ 1).</param>
/// <param name="OutW">Output width (≥ 1).</param>
public sealed record MaxUnpool2dAttrs(long OutH, long OutW) : OpAttrs;

/// <summary>Output size of adaptive pooling.</summary>
/// <param name="OutH">Output height (≥ 1).</param>
/// <param name="OutW">Output width (≥ 1).</param>
public sealed record AdaptivePool2dAttrs(long OutH, long OutW) : OpAttrs;

/// <summary>
/// 2-D max pooling of <c>[N, C, H, W]</c>. Two outputs: the maxima and their int64 positions, each flattened over its
/// <c>H·W</c> plane (<c>h·W + w</c>, as libtorch returns them). Only the maxima carry a gradient.
/// </summary>
public sealed class MaxPool2dOp : Op<MaxPool2dAttrs>
{
    internal MaxPool2dOp() : base("max_pool2d") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, MaxPool2dAttrs attrs)
    {
        Arity(inputs, 1);
        var x = PoolChecks.Input(this, inputs);
        if (attrs.Kernel.Length != 2 || attrs.Stride.Length != 2 || attrs.Padding.Length != 2 || attrs.Dilation.Length != 2)
            throw Fail(inputs, "kernel, stride, padding and dilation need 2 entries each");
        var dims = new long[] { x[0], x[1], 0, 0 };
        for (int i = 0; i < 2; i++)
        {
            long k = attrs.Kernel[i], s = attrs.Stride[i], p = attrs.Padding[i], d = attrs.Dilation[i], n = x[2 + i];
            PoolChecks.Window(this, inputs, k, s, p);
            if (d < 1) throw Fail(inputs, $"dilation must be positive, got {d}");
            long span = d * (k - 1) + 1;
            if (n + 2 * p < span)
                throw Fail(inputs, $"kernel size {k} (dilation {d}, span {span}) is larger than the padded input size {n + 2 * p} along spatial dimension {i}");
            long o = (n + 2 * p - span + (attrs.CeilMode ? s - 1 : 0)) / s + 1;
            // In ceil mode the last window must still start inside the input or the left padding (as libtorch).
            if (attrs.CeilMode && (o - 1) * s >= n + p) o--;
            dims[2 + i] = o;
        }
        var shape = Shape.Own(dims);
        return [new TensorSpec(shape, inputs[0].DType), new TensorSpec(shape, DType.Int64)];
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        if (!ctx.NeedsGrad(0)) return [null];
        Tensor x = ctx.Inputs[0], idx = ctx.Outputs[1], g = ctx.Grad;
        Shape s = x.Shape;
        // Windows that cannot share a position (span ≤ stride) route each gradient to a distinct place: an unpooling, which
        // ONNX Runtime runs several times faster than an accumulating scatter.
        var a = ctx.AttrsAs<MaxPool2dAttrs>();
        if (a.Dilation[0] * (a.Kernel[0] - 1) + 1 <= a.Stride[0] && a.Dilation[1] * (a.Kernel[1] - 1) + 1 <= a.Stride[1])
            return [MaxUnpool2dTo(g, idx, s[2], s[3])];
        long n = s[0], c = s[1], plane = s[2] * s[3], outPlane = idx.Shape[2] * idx.Shape[3];
        var gx = ScatterAdd(Zeros(new Shape(n, c, plane), x.DType, x.Backend), Reshape(idx, n, c, outPlane), Reshape(g, n, c, outPlane), 2);
        return [Reshape(gx, s.ToArray())];
    }
}

/// <summary>
/// The partial inverse of <see cref="MaxPool2dOp"/>: a zero <c>[N, C, OutH, OutW]</c> tensor with each value of <c>x</c>
/// (<c>[N, C, h, w]</c>) written at its int64 position <c>indices</c> (same shape, flattened over the output's
/// <c>OutH·OutW</c> plane, as max pooling returns them). Positions must be distinct within a plane (they are for pooling
/// windows that do not overlap); with repeats the value written is unspecified, as in PyTorch and ONNX.
/// </summary>
public sealed class MaxUnpool2dOp : Op<MaxUnpool2dAttrs>
{
    internal MaxUnpool2dOp() : base("max_unpool2d") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, MaxUnpool2dAttrs attrs)
    {
        Arity(inputs, 2);
        var x = PoolChecks.Input(this, inputs);
        if (inputs[1].DType != DType.Int64) throw Fail(inputs, $"indices must be int64, got {inputs[1].DType.Name()}");
        if (inputs[1].Shape != x) throw Fail(inputs, $"indices must have the input's shape {x}, got {inputs[1].Shape}");
        if (attrs.OutH < 1 || attrs.OutW < 1) throw Fail(inputs, $"output size ({attrs.OutH}, {attrs.OutW}) must be positive");
        if (attrs.OutH * attrs.OutW < x[2] * x[3])
            throw Fail(inputs, $"output plane {attrs.OutH}×{attrs.OutW} is smaller than the input plane {x[2]}×{x[3]}: positions would repeat");
        return One(Shape.Own([x[0], x[1], attrs.OutH, attrs.OutW]), inputs[0].DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        if (!ctx.NeedsGrad(0)) return [null, null];
        Tensor x = ctx.Inputs[0], idx = ctx.Inputs[1], g = ctx.Grad;
        long n = x.Shape[0], c = x.Shape[1];
        // Each input value went to one output position: its gradient is read back from there.
        var gx = GatherElements(Reshape(g, n, c, g.Shape[2] * g.Shape[3]), Reshape(idx, n, c, x.Shape[2] * x.Shape[3]), 2);
        return [Reshape(gx, x.Shape.ToArray()), null];
    }
}

/// <summary>2-D average pooling of <c>[N, C, H, W]</c> (floor output size).</summary>
public sealed class AvgPool2dOp : Op<AvgPool2dAttrs>
{
    internal AvgPool2dOp() : base("avg_pool2d") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, AvgPool2dAttrs attrs)
    {
        Arity(inputs, 1);
        var x = PoolChecks.Input(this, inputs);
        if (attrs.Kernel.Length != 2 || attrs.Stride.Length != 2 || attrs.Padding.Length != 2)
            throw Fail(inputs, "kernel, stride and padding need 2 entries each");
        var dims = new long[] { x[0], x[1], 0, 0 };
        for (int i = 0; i < 2; i++)
        {
            long k = attrs.Kernel[i], s = attrs.Stride[i], p = attrs.Padding[i], n = x[2 + i];
            PoolChecks.Window(this, inputs, k, s, p);
            if (n + 2 * p < k) throw Fail(inputs, $"kernel size {k} is larger than the padded input size {n + 2 * p} along spatial dimension {i}");
            dims[2 + i] = (n + 2 * p - k) / s + 1;
        }
        return One(Shape.Own(dims), inputs[0].DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        if (!ctx.NeedsGrad(0)) return [null];
        var a = ctx.AttrsAs<AvgPool2dAttrs>();
        Tensor x = ctx.Inputs[0], g = ctx.Grad;
        long c = x.Shape[1];
        Tensor scaled;
        if (a.CountIncludePad) scaled = Div(g, (double)(a.Kernel[0] * a.Kernel[1]));
        else
        {
            // The divisor of each window: its number of non-padding elements (a constant of the geometry).
            long oh = g.Shape[2], ow = g.Shape[3];
            var counts = new double[oh * ow];
            for (long i = 0; i < oh; i++)
                for (long j = 0; j < ow; j++)
                    counts[i * ow + j] = PoolChecks.Inside(i, a.Stride[0], a.Padding[0], a.Kernel[0], x.Shape[2])
                                         * PoolChecks.Inside(j, a.Stride[1], a.Padding[1], a.Kernel[1], x.Shape[3]);
            var divisor = Cast(Tensor.FromArray(counts, new Shape(oh, ow), x.Backend), g.DType);
            scaled = Div(g, divisor);
        }
        // Spreading each window's share back over the window is a depthwise transposed conv with a ones kernel.
        var ones = Ones(new Shape(c, 1, a.Kernel[0], a.Kernel[1]), g.DType, g.Backend);
        var outPad = new long[2];
        for (int i = 0; i < 2; i++) outPad[i] = (x.Shape[2 + i] + 2 * a.Padding[i] - a.Kernel[i]) % a.Stride[i];
        return [ConvTranspose(scaled, ones, null, new ConvTransposeAttrs(a.Stride, a.Padding, outPad, [1, 1], c))];
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
    public static Shape Input(Op op, ReadOnlySpan<TensorSpec> inputs)
    {
        var x = inputs[0];
        if (!x.DType.IsFloating()) throw Fail(op, inputs, $"needs a floating operand, got {x.DType.Name()}");
        if (x.Shape.Rank != 4) throw Fail(op, inputs, $"input must have rank 4 [N, C, H, W], got {x.Shape}");
        if (x.Shape[1] < 1 || x.Shape[2] < 1 || x.Shape[3] < 1) throw Fail(op, inputs, $"channel and spatial sizes must be non-zero, got {x.Shape}");
        return x.Shape;
    }

    public static void Window(Op op, ReadOnlySpan<TensorSpec> inputs, long k, long s, long p)
    {
        if (k < 1) throw Fail(op, inputs, $"kernel size must be positive, got {k}");
        if (s < 1) throw Fail(op, inputs, $"stride must be positive, got {s}");
        if (p < 0) throw Fail(op, inputs, $"padding must be non-negative, got {p}");
        if (p > k / 2) throw Fail(op, inputs, $"padding {p} must be at most half the kernel size {k}");
    }

    private static OpException Fail(Op op, ReadOnlySpan<TensorSpec> inputs, string reason) =>
        new(op.Name, inputs.ToArray(), reason, LayerPath.Current);

    /// <summary>Number of input positions (not padding) in window <paramref name="i"/>.</summary>
    public static long Inside(long i, long s, long p, long k, long n)
    {
        long start = i * s - p, end = start + k;
        return Math.Min(end, n) - Math.Max(start, 0);
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
    /// <summary>2-D max pooling (values and flattened indices).</summary>
    public static readonly MaxPool2dOp MaxPool2d = new();

    /// <summary>2-D max unpooling (the partial inverse of max pooling).</summary>
    public static readonly MaxUnpool2dOp MaxUnpool2d = new();

    /// <summary>2-D average pooling.</summary>
    public static readonly AvgPool2dOp AvgPool2d = new();

    /// <summary>Adaptive 2-D average pooling.</summary>
    public static readonly AdaptiveAvgPool2dOp AdaptiveAvgPool2d = new();
}
