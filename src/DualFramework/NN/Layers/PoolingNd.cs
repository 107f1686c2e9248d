namespace DualFramework.NN;

/// <summary>Shared state of <see cref="MaxPool2d"/> and <see cref="MaxPool3d"/> (PyTorch's <c>_MaxPoolNd</c>): one entry
/// per spatial dimension.</summary>
public abstract class MaxPoolNd : Module
{
    private protected MaxPoolNd(string layer, int dims, int[] kernelSize, int[]? stride, int[]? padding, int[]? dilation, bool ceilMode)
    {
        ArgumentNullException.ThrowIfNull(kernelSize);
        KernelSize = Array.AsReadOnly(LayerChecks.PerDim(layer, "kernel_size", kernelSize, dims, 0, 1));
        Stride = Array.AsReadOnly(LayerChecks.PerDim(layer, "stride", stride ?? [.. KernelSize], dims, 0, 1));
        Padding = Array.AsReadOnly(LayerChecks.PerDim(layer, "padding", padding, dims, 0, 0));
        Dilation = Array.AsReadOnly(LayerChecks.PerDim(layer, "dilation", dilation, dims, 1, 1));
        CeilMode = ceilMode;
    }

    /// <summary>Window per spatial dimension.</summary>
    public IReadOnlyList<int> KernelSize { get; }

    /// <summary>Stride per spatial dimension.</summary>
    public IReadOnlyList<int> Stride { get; }

    /// <summary>Padding per spatial dimension.</summary>
    public IReadOnlyList<int> Padding { get; }

    /// <summary>Dilation per spatial dimension.</summary>
    public IReadOnlyList<int> Dilation { get; }

    /// <summary>Whether output sizes round up.</summary>
    public bool CeilMode { get; }

    /// <summary>The maxima of a batched or unbatched input.</summary>
    private protected Tensor Pool(string layer, Tensor input, string layout)
    {
        ArgumentNullException.ThrowIfNull(input);
        return LayerChecks.WithOptionalBatch(layer, input, KernelSize.Count + 2, layout, x => PoolWithIndices(x).Values);
    }

    /// <summary>The maxima and their int64 positions flattened over each spatial volume (<c>H·W</c> plane in 2-D, <c>D·H·W</c>
    /// in 3-D; PyTorch's <c>return_indices</c>); needs a batched <c>[N, C, *S]</c> input. Runs with this layer on the layer path.</summary>
    public (Tensor Values, Tensor Indices) ForwardWithIndices(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var _ = EnterLayer();
        return PoolWithIndices(input);
    }

    /// <summary>Maxima and volume indices of a batched input.</summary>
    private protected (Tensor Values, Tensor Indices) PoolWithIndices(Tensor x) => KernelSize.Count == 2
        ? Ops.MaxPool2dWithIndices(x, [.. KernelSize], [.. Stride], [.. Padding], [.. Dilation], CeilMode)
        : Ops.MaxPool3dWithIndices(x, [.. KernelSize], [.. Stride], [.. Padding], [.. Dilation], CeilMode);
}

/// <summary>Shared state of <see cref="AvgPool2d"/> and <see cref="AvgPool3d"/> (PyTorch's <c>_AvgPoolNd</c>): one entry
/// per spatial dimension.</summary>
public abstract class AvgPoolNd : Module
{
    private protected AvgPoolNd(string layer, int dims, int[] kernelSize, int[]? stride, int[]? padding, bool countIncludePad, bool ceilMode)
    {
        ArgumentNullException.ThrowIfNull(kernelSize);
        KernelSize = Array.AsReadOnly(LayerChecks.PerDim(layer, "kernel_size", kernelSize, dims, 0, 1));
        Stride = Array.AsReadOnly(LayerChecks.PerDim(layer, "stride", stride ?? [.. KernelSize], dims, 0, 1));
        Padding = Array.AsReadOnly(LayerChecks.PerDim(layer, "padding", padding, dims, 0, 0));
        CountIncludePad = countIncludePad;
        CeilMode = ceilMode;
    }

    /// <summary>Window per spatial dimension.</summary>
    public IReadOnlyList<int> KernelSize { get; }

    /// <summary>Stride per spatial dimension.</summary>
    public IReadOnlyList<int> Stride { get; }

    /// <summary>Padding per spatial dimension.</summary>
    public IReadOnlyList<int> Padding { get; }

    /// <summary>Whether padded zeros count in the divisor.</summary>
    public bool CountIncludePad { get; }

    /// <summary>Whether output sizes round up.</summary>
    public bool CeilMode { get; }

    /// <summary>The window means of a batched or unbatched input.</summary>
    private protected Tensor Pool(string layer, Tensor input, string layout)
    {
        ArgumentNullException.ThrowIfNull(input);
        return LayerChecks.WithOptionalBatch(layer, input, KernelSize.Count + 2, layout, x => KernelSize.Count == 2
            ? Ops.AvgPool2d(x, [.. KernelSize], [.. Stride], [.. Padding], CountIncludePad, CeilMode)
            : Ops.AvgPool3d(x, [.. KernelSize], [.. Stride], [.. Padding], CountIncludePad, CeilMode));
    }
}
