namespace DualFramework.NN;

/// <summary>2-D max pooling over <c>[N, C, H, W]</c> (or unbatched <c>[C, H, W]</c>), PyTorch's <c>nn.MaxPool2d</c>.</summary>
public sealed class MaxPool2d : Module
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
    {
        ArgumentNullException.ThrowIfNull(kernelSize);
        KernelSize = Array.AsReadOnly(LayerChecks.PerDim(nameof(MaxPool2d), "kernel_size", kernelSize, 2, 0, 1));
        Stride = Array.AsReadOnly(LayerChecks.PerDim(nameof(MaxPool2d), "stride", stride ?? KernelSize.ToArray(), 2, 0, 1));
        Padding = Array.AsReadOnly(LayerChecks.PerDim(nameof(MaxPool2d), "padding", padding, 2, 0, 0));
        Dilation = Array.AsReadOnly(LayerChecks.PerDim(nameof(MaxPool2d), "dilation", dilation, 2, 1, 1));
        CeilMode = ceilMode;
    }

    /// <summary>Window (height, width).</summary>
    public IReadOnlyList<int> KernelSize { get; }

    /// <summary>Stride (height, width).</summary>
    public IReadOnlyList<int> Stride { get; }

    /// <summary>Padding (height, width).</summary>
    public IReadOnlyList<int> Padding { get; }

    /// <summary>Dilation (height, width).</summary>
    public IReadOnlyList<int> Dilation { get; }

    /// <summary>Whether output sizes round up.</summary>
    public bool CeilMode { get; }

    /// <summary>The maxima of each window.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return LayerChecks.WithOptionalBatch(nameof(MaxPool2d), input, 4, "[N, C, H, W]", x =>
            Ops.MaxPool2d(x, KernelSize.ToArray(), Stride.ToArray(), Padding.ToArray(), Dilation.ToArray(), CeilMode));
    }

    /// <summary>The maxima and their int64 positions flattened over each <c>H·W</c> plane (PyTorch's <c>return_indices</c>);
    /// needs a batched <c>[N, C, H, W]</c> input. Runs with this layer on the layer path.</summary>
    public (Tensor Values, Tensor Indices) ForwardWithIndices(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var _ = EnterLayer();
        return Ops.MaxPool2dWithIndices(input, KernelSize.ToArray(), Stride.ToArray(), Padding.ToArray(), Dilation.ToArray(), CeilMode);
    }
}

/// <summary>2-D average pooling over <c>[N, C, H, W]</c> (or unbatched <c>[C, H, W]</c>), PyTorch's <c>nn.AvgPool2d</c>
/// (without <c>ceil_mode</c> and <c>divisor_override</c>).</summary>
public sealed class AvgPool2d : Module
{
    /// <summary>Creates the layer with a square window.</summary>
    /// <param name="kernelSize">Window height and width.</param>
    /// <param name="stride">Stride; null means the kernel size.</param>
    /// <param name="padding">Zero padding on every side.</param>
    /// <param name="countIncludePad">Whether padded zeros count in the divisor.</param>
    public AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool countIncludePad = true)
        : this([kernelSize, kernelSize], stride is { } s ? [s, s] : null, [padding, padding], countIncludePad) { }

    /// <summary>Creates the layer with per-dimension (height, width) parameters.</summary>
    /// <param name="kernelSize">Window (height, width).</param>
    /// <param name="stride">Stride; null means the kernel size.</param>
    /// <param name="padding">Padding; null means 0.</param>
    /// <param name="countIncludePad">Whether padded zeros count in the divisor.</param>
    public AvgPool2d(int[] kernelSize, int[]? stride = null, int[]? padding = null, bool countIncludePad = true)
    {
        ArgumentNullException.ThrowIfNull(kernelSize);
        KernelSize = Array.AsReadOnly(LayerChecks.PerDim(nameof(AvgPool2d), "kernel_size", kernelSize, 2, 0, 1));
        Stride = Array.AsReadOnly(LayerChecks.PerDim(nameof(AvgPool2d), "stride", stride ?? KernelSize.ToArray(), 2, 0, 1));
        Padding = Array.AsReadOnly(LayerChecks.PerDim(nameof(AvgPool2d), "padding", padding, 2, 0, 0));
        CountIncludePad = countIncludePad;
    }

    /// <summary>Window (height, width).</summary>
    public IReadOnlyList<int> KernelSize { get; }

    /// <summary>Stride (height, width).</summary>
    public IReadOnlyList<int> Stride { get; }

    /// <summary>Padding (height, width).</summary>
    public IReadOnlyList<int> Padding { get; }

    /// <summary>Whether padded zeros count in the divisor.</summary>
    public bool CountIncludePad { get; }

    /// <summary>The mean of each window.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return LayerChecks.WithOptionalBatch(nameof(AvgPool2d), input, 4, "[N, C, H, W]", x =>
            Ops.AvgPool2d(x, KernelSize.ToArray(), Stride.ToArray(), Padding.ToArray(), CountIncludePad));
    }
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
