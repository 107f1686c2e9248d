namespace DualFramework.NN;

/// <summary>3-D convolution over <c>[N, C, D, H, W]</c> (or unbatched <c>[C, D, H, W]</c>), PyTorch's <c>nn.Conv3d</c>.</summary>
public sealed class Conv3d : ConvNd
{
    /// <summary>Creates the layer with per-dimension (depth, height, width) parameters; null stride/dilation mean 1, null
    /// padding 0 (see <see cref="ConvNd"/> for the initialisation).</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Kernel (depth, height, width).</param>
    /// <param name="stride">Stride (depth, height, width).</param>
    /// <param name="padding">Zero padding (depth, height, width), both sides.</param>
    /// <param name="dilation">Dilation (depth, height, width).</param>
    /// <param name="groups">Channel groups (both channel counts must be divisible by it).</param>
    /// <param name="bias">Whether to learn a bias.</param>
    /// <param name="rng">Initialisation generator; null forks the process-wide one.</param>
    public Conv3d(long inChannels, long outChannels, int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null,
        int groups = 1, bool bias = true, SeededRandom? rng = null)
        : base(nameof(Conv3d), 3, inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias, rng) { }

    /// <summary>Convolves <c>[N, in, D, H, W]</c> to <c>[N, out, D′, H′, W′]</c>.</summary>
    public override Tensor Forward(Tensor input) =>
        Convolve(nameof(Conv3d), input, "[N, C, D, H, W]", (x, w) => Ops.Conv3d(x, w, Bias?.Value, [.. Stride], [.. Padding], [.. Dilation], Groups));
}

/// <summary>
/// 3-D transposed convolution over <c>[N, C, D, H, W]</c> (or unbatched <c>[C, D, H, W]</c>), PyTorch's
/// <c>nn.ConvTranspose3d</c>: weight <c>[in, out/groups, kD, kH, kW]</c>, output size
/// <c>(in − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1</c> per dimension.
/// </summary>
public sealed class ConvTranspose3d : ConvNd
{
    /// <summary>Creates the layer with per-dimension (depth, height, width) parameters; null stride/dilation mean 1, null
    /// padding and output padding 0 (initialisation as <see cref="ConvNd"/>, with fan_in = out/groups · Πk as PyTorch).</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Kernel (depth, height, width).</param>
    /// <param name="stride">Stride (depth, height, width).</param>
    /// <param name="padding">Padding of the convolution this layer transposes (removed from both sides of the output).</param>
    /// <param name="outputPadding">Extra size on one side of the output (each below its stride or dilation).</param>
    /// <param name="groups">Channel groups (both channel counts must be divisible by it).</param>
    /// <param name="bias">Whether to learn a bias.</param>
    /// <param name="dilation">Dilation (depth, height, width).</param>
    /// <param name="rng">Initialisation generator; null forks the process-wide one.</param>
    public ConvTranspose3d(long inChannels, long outChannels, int[] kernelSize, int[]? stride = null, int[]? padding = null,
        int[]? outputPadding = null, int groups = 1, bool bias = true, int[]? dilation = null, SeededRandom? rng = null)
        : base(nameof(ConvTranspose3d), 3, inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias, rng, transposed: true) =>
        OutputPadding = Array.AsReadOnly(LayerChecks.PerDim(nameof(ConvTranspose3d), "output_padding", outputPadding, 3, 0, 0));

    /// <summary>Output padding per spatial dimension.</summary>
    public IReadOnlyList<int> OutputPadding { get; }

    /// <summary>Transposes <c>[N, in, D, H, W]</c> to <c>[N, out, D′, H′, W′]</c>.</summary>
    public override Tensor Forward(Tensor input) =>
        Convolve(nameof(ConvTranspose3d), input, "[N, C, D, H, W]",
            (x, w) => Ops.ConvTranspose3d(x, w, Bias?.Value, [.. Stride], [.. Padding], [.. OutputPadding], [.. Dilation], Groups));
}
