using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    private static long[] PoolParam(string op, string name, int[]? values, int[]? fallback, Tensor x, int d = 2)
    {
        var v = values ?? fallback ?? throw new OpException(op, [x.Spec], $"{name} is required", LayerPath.Current);
        if (v.Length != d)
            throw new OpException(op, [x.Spec], $"{name} needs {d} entries ({(d == 2 ? "height, width" : "depth, height, width")}), got [{string.Join(", ", v)}]", LayerPath.Current);
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
    public static (Tensor Values, Tensor Indices) MaxPool2dWithIndices(Tensor x, int[] kernel, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false) =>
        MaxPoolNd(2, x, kernel, stride, padding, dilation, ceilMode);

    /// <summary>3-D max pooling of <c>[N, C, D, H, W]</c> with per-dimension (depth, height, width) parameters;
    /// <paramref name="stride"/> defaults to the kernel.</summary>
    public static Tensor MaxPool3d(Tensor x, int[] kernel, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false) =>
        MaxPool3dWithIndices(x, kernel, stride, padding, dilation, ceilMode).Values;

    /// <summary>3-D max pooling returning the maxima and their int64 positions flattened over each <c>D·H·W</c> volume.</summary>
    public static (Tensor Values, Tensor Indices) MaxPool3dWithIndices(Tensor x, int[] kernel, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false) =>
        MaxPoolNd(3, x, kernel, stride, padding, dilation, ceilMode);

    private static (Tensor Values, Tensor Indices) MaxPoolNd(int d, Tensor x, int[] kernel, int[]? stride, int[]? padding, int[]? dilation, bool ceilMode)
    {
        const string op = "max_pool2d";
        var attrs = new MaxPool2dAttrs(PoolParam(op, "kernel", kernel, null, x, d), PoolParam(op, "stride", stride, kernel, x, d),
            PoolParam(op, "padding", padding, new int[d], x, d), PoolParam(op, "dilation", dilation, Enumerable.Repeat(1, d).ToArray(), x, d), ceilMode);
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
        return MaxUnpoolTo(x, indices, [outH, outW]);
    }

    /// <summary>Max unpooling (1 to 3 spatial dimensions) to the spatial size <paramref name="outSize"/>; <paramref name="indices"/>
    /// are flattened over each output volume, as <see cref="MaxPool3dWithIndices"/> returns them.</summary>
    public static Tensor MaxUnpoolTo(Tensor x, Tensor indices, long[] outSize) =>
        Apply(OpSet.MaxUnpool2d, new MaxUnpool2dAttrs(outSize), CastTo(x, DTypes.ToFloating(x.DType)), indices);

    /// <summary>2-D average pooling of <c>[N, C, H, W]</c> with a square window; <paramref name="stride"/> defaults to the kernel
    /// size. With <paramref name="countIncludePad"/> false, windows overlapping the padding average only real elements.</summary>
    public static Tensor AvgPool2d(Tensor x, int kernel, int? stride = null, int padding = 0, bool countIncludePad = true)
    {
        int s = stride ?? kernel;
        return AvgPool2d(x, [kernel, kernel], [s, s], [padding, padding], countIncludePad);
    }

    /// <summary>2-D average pooling with per-dimension (height, width) parameters; <paramref name="stride"/> defaults to the kernel.
    /// <paramref name="ceilMode"/> keeps a last, partial window (its divisor clipped as PyTorch's).</summary>
    public static Tensor AvgPool2d(Tensor x, int[] kernel, int[]? stride = null, int[]? padding = null, bool countIncludePad = true, bool ceilMode = false) =>
        AvgPoolNd(2, x, kernel, stride, padding, countIncludePad, ceilMode);

    /// <summary>3-D average pooling of <c>[N, C, D, H, W]</c> with per-dimension (depth, height, width) parameters;
    /// <paramref name="stride"/> defaults to the kernel.</summary>
    public static Tensor AvgPool3d(Tensor x, int[] kernel, int[]? stride = null, int[]? padding = null, bool countIncludePad = true, bool ceilMode = false) =>
        AvgPoolNd(3, x, kernel, stride, padding, countIncludePad, ceilMode);

    private static Tensor AvgPoolNd(int d, Tensor x, int[] kernel, int[]? stride, int[]? padding, bool countIncludePad, bool ceilMode)
    {
        const string op = "avg_pool2d";
        var attrs = new AvgPool2dAttrs(PoolParam(op, "kernel", kernel, null, x, d), PoolParam(op, "stride", stride, kernel, x, d),
            PoolParam(op, "padding", padding, new int[d], x, d), countIncludePad, ceilMode);
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
