namespace DualFramework.NN;

/// <summary>3-D max pooling over <c>[N, C, D, H, W]</c> (or unbatched <c>[C, D, H, W]</c>), PyTorch's <c>nn.MaxPool3d</c>.</summary>
public sealed class MaxPool3d : Module
{
    /// <summary>Creates the layer with per-dimension (depth, height, width) parameters.</summary>
    /// <param name="kernelSize">Window (depth, height, width).</param>
    /// <param name="stride">Stride; null means the kernel size.</param>
    /// <param name="padding">Implicit −∞ padding on both sides; null means 0.</param>
    /// <param name="dilation">Dilation; null means 1.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    public MaxPool3d(int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null, bool ceilMode = false)
    {
        ArgumentNullException.ThrowIfNull(kernelSize);
        const string layer = nameof(MaxPool3d);
        KernelSize = Array.AsReadOnly(LayerChecks.PerDim(layer, "kernel_size", kernelSize, 3, 0, 1));
        Stride = Array.AsReadOnly(LayerChecks.PerDim(layer, "stride", stride ?? [.. KernelSize], 3, 0, 1));
        Padding = Array.AsReadOnly(LayerChecks.PerDim(layer, "padding", padding, 3, 0, 0));
        Dilation = Array.AsReadOnly(LayerChecks.PerDim(layer, "dilation", dilation, 3, 1, 1));
        CeilMode = ceilMode;
    }

    /// <summary>Window (depth, height, width).</summary>
    public IReadOnlyList<int> KernelSize { get; }

    /// <summary>Stride (depth, height, width).</summary>
    public IReadOnlyList<int> Stride { get; }

    /// <summary>Padding (depth, height, width).</summary>
    public IReadOnlyList<int> Padding { get; }

    /// <summary>Dilation (depth, height, width).</summary>
    public IReadOnlyList<int> Dilation { get; }

    /// <summary>Whether output sizes round up.</summary>
    public bool CeilMode { get; }

    /// <summary>The maxima of each window.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return LayerChecks.WithOptionalBatch(nameof(MaxPool3d), input, 5, "[N, C, D, H, W]", x =>
            Ops.MaxPool3d(x, [.. KernelSize], [.. Stride], [.. Padding], [.. Dilation], CeilMode));
    }
}

/// <summary>3-D average pooling over <c>[N, C, D, H, W]</c> (or unbatched <c>[C, D, H, W]</c>), PyTorch's <c>nn.AvgPool3d</c>
/// (without <c>divisor_override</c>).</summary>
public sealed class AvgPool3d : Module
{
    /// <summary>Creates the layer with per-dimension (depth, height, width) parameters.</summary>
    /// <param name="kernelSize">Window (depth, height, width).</param>
    /// <param name="stride">Stride; null means the kernel size.</param>
    /// <param name="padding">Zero padding on both sides; null means 0.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <param name="countIncludePad">Whether padded zeros count in the divisor.</param>
    public AvgPool3d(int[] kernelSize, int[]? stride = null, int[]? padding = null, bool ceilMode = false, bool countIncludePad = true)
    {
        ArgumentNullException.ThrowIfNull(kernelSize);
        const string layer = nameof(AvgPool3d);
        KernelSize = Array.AsReadOnly(LayerChecks.PerDim(layer, "kernel_size", kernelSize, 3, 0, 1));
        Stride = Array.AsReadOnly(LayerChecks.PerDim(layer, "stride", stride ?? [.. KernelSize], 3, 0, 1));
        Padding = Array.AsReadOnly(LayerChecks.PerDim(layer, "padding", padding, 3, 0, 0));
        CeilMode = ceilMode;
        CountIncludePad = countIncludePad;
    }

    /// <summary>Window (depth, height, width).</summary>
    public IReadOnlyList<int> KernelSize { get; }

    /// <summary>Stride (depth, height, width).</summary>
    public IReadOnlyList<int> Stride { get; }

    /// <summary>Padding (depth, height, width).</summary>
    public IReadOnlyList<int> Padding { get; }

    /// <summary>Whether output sizes round up.</summary>
    public bool CeilMode { get; }

    /// <summary>Whether padded zeros count in the divisor.</summary>
    public bool CountIncludePad { get; }

    /// <summary>The mean of each window.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return LayerChecks.WithOptionalBatch(nameof(AvgPool3d), input, 5, "[N, C, D, H, W]", x =>
            Ops.AvgPool3d(x, [.. KernelSize], [.. Stride], [.. Padding], CountIncludePad, CeilMode));
    }
}
