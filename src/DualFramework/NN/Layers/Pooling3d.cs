namespace DualFramework.NN;

/// <summary>3-D max pooling over <c>[N, C, D, H, W]</c> (or unbatched <c>[C, D, H, W]</c>), PyTorch's <c>nn.MaxPool3d</c>.</summary>
public sealed class MaxPool3d : MaxPoolNd
{
    /// <summary>Creates the layer with per-dimension (depth, height, width) parameters.</summary>
    /// <param name="kernelSize">Window (depth, height, width).</param>
    /// <param name="stride">Stride; null means the kernel size.</param>
    /// <param name="padding">Implicit −∞ padding on both sides; null means 0.</param>
    /// <param name="dilation">Dilation; null means 1.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    public MaxPool3d(int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false)
        : base(nameof(MaxPool3d), 3, kernelSize, stride, padding, dilation, ceilMode) { }

    /// <summary>The maxima of each window.</summary>
    public override Tensor Forward(Tensor input) => Pool(nameof(MaxPool3d), input, "[N, C, D, H, W]");
}

/// <summary>3-D average pooling over <c>[N, C, D, H, W]</c> (or unbatched <c>[C, D, H, W]</c>), PyTorch's <c>nn.AvgPool3d</c>
/// (without <c>divisor_override</c>).</summary>
public sealed class AvgPool3d : AvgPoolNd
{
    /// <summary>Creates the layer with per-dimension (depth, height, width) parameters, in PyTorch's parameter order.</summary>
    /// <param name="kernelSize">Window (depth, height, width).</param>
    /// <param name="stride">Stride; null means the kernel size.</param>
    /// <param name="padding">Zero padding on both sides; null means 0.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <param name="countIncludePad">Whether padded zeros count in the divisor.</param>
    public AvgPool3d(int[] kernelSize, int[]? stride = null, int[]? padding = null, bool ceilMode = false, bool countIncludePad = true)
        : base(nameof(AvgPool3d), 3, kernelSize, stride, padding, countIncludePad, ceilMode) { }

    /// <summary>The mean of each window.</summary>
    public override Tensor Forward(Tensor input) => Pool(nameof(AvgPool3d), input, "[N, C, D, H, W]");
}
