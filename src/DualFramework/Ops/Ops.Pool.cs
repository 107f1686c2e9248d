using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    private static long[] PoolParam(string op, string name, int[]? values, int[]? fallback, Tensor x)
    {
        var v = values ?? fallback ?? throw new OpException(op, [x.Spec], $"{name} is required", LayerPath.Current);
        if (v.Length != 2) throw new OpException(op, [x.Spec], $"{name} needs 2 entries (height, width), got [{string.Join(", ", v)}]", LayerPath.Current);
        return Array.ConvertAll(v, i => (long)i);
    }

    /// <summary>2-D max pooling of <c>[N, C, H, W]</c> with a square window; <paramref name="stride"/> defaults to the kernel size.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernel, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) =>
        MaxPool2dWithIndices(x, kernel, stride, padding, dilation, ceilMode).Values;

    /// <summary>2-D max pooling with per-dimension (height, width) parameters; <paramref name="stride"/> defaults to the kernel.</summary>
    public static Tensor MaxPool2d(Tensor x, int[] kernel, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false) =>
        MaxPool2dWithIndices(x, kernel, stride, padding, dilation, ceilMode).Values;

    /// <summary>2-D max pooling returning the maxima and their int64 positions flattened over each <c>H·W</c> plane.</summary>
    public static (Tensor Values, Tensor Indices) MaxPool2dWithIndices(Tensor x, int kernel, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
    {
        int s = stride ?? kernel;
        return MaxPool2dWithIndices(x, [kernel, kernel], [s, s], [padding, padding], [dilation, dilation], ceilMode);
    }

    /// <summary>2-D max pooling with per-dimension parameters, returning maxima and flattened int64 positions.</summary>
    public static (Tensor Values, Tensor Indices) MaxPool2dWithIndices(Tensor x, int[] kernel, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false)
    {
        const string op = "max_pool2d";
        var attrs = new MaxPool2dAttrs(PoolParam(op, "kernel", kernel, null, x), PoolParam(op, "stride", stride, kernel, x),
            PoolParam(op, "padding", padding, [0, 0], x), PoolParam(op, "dilation", dilation, [1, 1], x), ceilMode);
        var outs = Dispatcher.ApplyMulti(OpSet.MaxPool2d, attrs, CastTo(x, DTypes.ToFloating(x.DType)));
        return (outs[0], outs[1]);
    }

    /// <summary>
    /// 2-D max unpooling, the partial inverse of <see cref="MaxPool2dWithIndices(Tensor, int, int?, int, int, bool)"/>: a zero
    /// tensor with each value of <paramref name="x"/> written at its position in <paramref name="indices"/> (int64, flattened over
    /// each output plane). The output plane is <paramref name="outputSize"/> (height, width) or, by default,
    /// <c>(in − 1)·stride − 2·padding + kernel</c> per dimension, as PyTorch's <c>max_unpool2d</c>.
    /// </summary>
    public static Tensor MaxUnpool2d(Tensor x, Tensor indices, int kernel, int? stride = null, int padding = 0, long[]? outputSize = null)
    {
        const string op = "max_unpool2d";
        long s = stride ?? kernel;
        if (kernel < 1 || s < 1 || padding < 0)
            throw new OpException(op, [x.Spec, indices.Spec], $"kernel {kernel} and stride {s} must be positive and padding {padding} non-negative", LayerPath.Current);
        if (outputSize is { Length: not 2 })
            throw new OpException(op, [x.Spec, indices.Spec], $"output size needs 2 entries (height, width), got [{string.Join(", ", outputSize)}]", LayerPath.Current);
        if (x.Rank != 4) throw new OpException(op, [x.Spec, indices.Spec], $"input must have rank 4 [N, C, H, W], got {x.Shape}", LayerPath.Current);
        long outH = outputSize?[0] ?? (x.Shape[2] - 1) * s - 2 * padding + kernel;
        long outW = outputSize?[1] ?? (x.Shape[3] - 1) * s - 2 * padding + kernel;
        return MaxUnpool2dTo(x, indices, outH, outW);
    }

    /// <summary>2-D max unpooling to an <paramref name="outH"/>×<paramref name="outW"/> output plane.</summary>
    internal static Tensor MaxUnpool2dTo(Tensor x, Tensor indices, long outH, long outW) =>
        Apply(OpSet.MaxUnpool2d, new MaxUnpool2dAttrs(outH, outW), CastTo(x, DTypes.ToFloating(x.DType)), indices);

    /// <summary>2-D average pooling of <c>[N, C, H, W]</c> with a square window; <paramref name="stride"/> defaults to the kernel
    /// size. With <paramref name="countIncludePad"/> false, windows overlapping the padding average only real elements.</summary>
    public static Tensor AvgPool2d(Tensor x, int kernel, int? stride = null, int padding = 0, bool countIncludePad = true)
    {
        int s = stride ?? kernel;
        return AvgPool2d(x, [kernel, kernel], [s, s], [padding, padding], countIncludePad);
    }

    /// <summary>2-D average pooling with per-dimension (height, width) parameters; <paramref name="stride"/> defaults to the kernel.</summary>
    public static Tensor AvgPool2d(Tensor x, int[] kernel, int[]? stride = null, int[]? padding = null, bool countIncludePad = true)
    {
        const string op = "avg_pool2d";
        var attrs = new AvgPool2dAttrs(PoolParam(op, "kernel", kernel, null, x), PoolParam(op, "stride", stride, kernel, x),
            PoolParam(op, "padding", padding, [0, 0], x), countIncludePad);
        return Apply(OpSet.AvgPool2d, attrs, CastTo(x, DTypes.ToFloating(x.DType)));
    }

    /// <summary>Adaptive 2-D average pooling of <c>[N, C, H, W]</c> to <c>[N, C, outH, outW]</c> (PyTorch's windows).</summary>
    public static Tensor AdaptiveAvgPool2d(Tensor x, int outH, int outW) =>
        Apply(OpSet.AdaptiveAvgPool2d, new AdaptivePool2dAttrs(outH, outW), CastTo(x, DTypes.ToFloating(x.DType)));

    /// <summary>Adaptive 2-D average pooling to a square <paramref name="outputSize"/>.</summary>
    public static Tensor AdaptiveAvgPool2d(Tensor x, int outputSize) => AdaptiveAvgPool2d(x, outputSize, outputSize);

    /// <summary>Mean over each <c>H·W</c> plane of <c>[N, C, H, W]</c>, keeping the spatial dimensions as 1 (<c>[N, C, 1, 1]</c>).</summary>
    public static Tensor GlobalAvgPool2d(Tensor x) => AdaptiveAvgPool2d(x, 1, 1);
}
