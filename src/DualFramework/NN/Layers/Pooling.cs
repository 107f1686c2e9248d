namespace DualFramework.NN;

/// <summary>2-D max pooling over <c>[N, C, H, W]</c> (or unbatched <c>[C, H, W]</c>), PyTorch's <c>nn.MaxPool2d</c>.</summary>
public sealed class MaxPool2d : MaxPoolNd
{
    /// <summary>Creates the layer with a square window.</summary>
    /// <param name="kernelSize">Window height and width.</param>
    /// <param name="stride">Stride; null means the kernel size.</param>
    /// <param name="padding">Implicit −∞ padding on every side.</param>
    /// <param name="dilation">Spacing between window taps.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    public MaxPool2d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
        : this([kernelSize, kernelSize], stride is { } s ? [s, s] : null, [padding, padding], [dilation, dilation], ceilMode) { }

    /// <summary>Creates the layer with per-dimension (height, width) parameters.</summary>
    /// <param name="kernelSize">Window (height, width).</param>
    /// <param name="stride">Stride; null means the kernel size.</param>
    /// <param name="padding">Padding; null means 0.</param>
    /// <param name="dilation">Dilation; null means 1.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    public MaxPool2d(int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false)
        : base(nameof(MaxPool2d), 2, kernelSize, stride, padding, dilation, ceilMode) { }

    /// <summary>The maxima of each window.</summary>
    public override Tensor Forward(Tensor input) => Pool(nameof(MaxPool2d), input, "[N, C, H, W]");
}

/// <summary>2-D average pooling over <c>[N, C, H, W]</c> (or unbatched <c>[C, H, W]</c>), PyTorch's <c>nn.AvgPool2d</c>
/// (without <c>divisor_override</c>).</summary>
public sealed class AvgPool2d : AvgPoolNd
{
    /// <summary>Creates the layer with a square window.</summary>
    /// <param name="kernelSize">Window height and width.</param>
    /// <param name="stride">Stride; null means the kernel size.</param>
    /// <param name="padding">Zero padding on every side.</param>
    /// <param name="countIncludePad">Whether padded zeros count in the divisor.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    public AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool countIncludePad = true, bool ceilMode = false)
        : this([kernelSize, kernelSize], stride is { } s ? [s, s] : null, [padding, padding], countIncludePad, ceilMode) { }

    /// <summary>Creates the layer with per-dimension (height, width) parameters.</summary>
    /// <param name="kernelSize">Window (height, width).</param>
    /// <param name="stride">Stride; null means the kernel size.</param>
    /// <param name="padding">Padding; null means 0.</param>
    /// <param name="countIncludePad">Whether padded zeros count in the divisor.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    public AvgPool2d(int[] kernelSize, int[]? stride = null, int[]? padding = null, bool countIncludePad = true, bool ceilMode = false)
        : base(nameof(AvgPool2d), 2, kernelSize, stride, padding, countIncludePad, ceilMode) { }

    /// <summary>The mean of each window.</summary>
    public override Tensor Forward(Tensor input) => Pool(nameof(AvgPool2d), input, "[N, C, H, W]");
}

/// <summary>Adaptive 2-D average pooling to a fixed output size, PyTorch's <c>nn.AdaptiveAvgPool2d</c>.</summary>
public sealed class AdaptiveAvgPool2d : Module
{
    /// <summary>Pools to a square <paramref name="outputSize"/>.</summary>
    public AdaptiveAvgPool2d(int outputSize) : this(outputSize, outputSize) { }

    /// <summary>Pools to <c>[outputHeight, outputWidth]</c>.</summary>
    public AdaptiveAvgPool2d(int outputHeight, int outputWidth)
    {
        OutputHeight = LayerChecks.Positive(nameof(AdaptiveAvgPool2d), "output_size", outputHeight);
        OutputWidth = LayerChecks.Positive(nameof(AdaptiveAvgPool2d), "output_size", outputWidth);
    }

    /// <summary>Output height.</summary>
    public int OutputHeight { get; }

    /// <summary>Output width.</summary>
    public int OutputWidth { get; }

    /// <summary>Averages <c>[N, C, H, W]</c> (or <c>[C, H, W]</c>) over PyTorch's adaptive windows.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return LayerChecks.WithOptionalBatch(nameof(AdaptiveAvgPool2d), input, 4, "[N, C, H, W]", x =>
            Ops.AdaptiveAvgPool2d(x, OutputHeight, OutputWidth));
    }
}
