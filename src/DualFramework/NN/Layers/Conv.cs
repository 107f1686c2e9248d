namespace DualFramework.NN;

/// <summary>
/// Shared state of <see cref="Conv1d"/>, <see cref="Conv2d"/>, <see cref="Conv3d"/> and <see cref="ConvTranspose3d"/>:
/// <c>weight</c> <c>[out, in/groups, k…]</c> (transposed: <c>[in, out/groups, k…]</c>) and optional <c>bias</c> <c>[out]</c>
/// (PyTorch's <c>_ConvNd</c>).
/// </summary>
/// <remarks>
/// Initialisation (draw order: weight, then bias), with fan_in = in/groups · Πk: weight Kaiming-uniform with a = √5,
/// i.e. U(±1/√fan_in); bias U(±1/√fan_in). Only zero padding given as explicit sizes is supported.
/// </remarks>
public abstract class ConvNd : Module, ITransformableLayer
{
    private protected ConvNd(string layer, int dims, long inChannels, long outChannels, int[] kernelSize, int[]? stride, int[]? padding,
        int[]? dilation, int groups, bool bias, SeededRandom? rng, bool transposed = false)
    {
        InChannels = LayerChecks.Positive(layer, "in_channels", inChannels);
        OutChannels = LayerChecks.Positive(layer, "out_channels", outChannels);
        Groups = LayerChecks.Positive(layer, "groups", groups);
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"{layer}: in_channels ({inChannels}) and out_channels ({outChannels}) must both be divisible by groups ({groups}).", nameof(groups));
        ArgumentNullException.ThrowIfNull(kernelSize);
        KernelSize = Array.AsReadOnly(LayerChecks.PerDim(layer, "kernel_size", kernelSize, dims, 0, 1));
        Stride = Array.AsReadOnly(LayerChecks.PerDim(layer, "stride", stride, dims, 1, 1));
        Padding = Array.AsReadOnly(LayerChecks.PerDim(layer, "padding", padding, dims, 0, 0));
        Dilation = Array.AsReadOnly(LayerChecks.PerDim(layer, "dilation", dilation, dims, 1, 1));
        // A transposed conv's weight is [in, out/groups, k…]; PyTorch's fan-in is then its second dimension times Πk.
        long[] lead = transposed ? [inChannels, outChannels / groups] : [outChannels, inChannels / groups];
        long fanIn = lead[1] * KernelSize.Aggregate(1L, (a, k) => a * k);
        var shape = lead.Concat(KernelSize.Select(k => (long)k)).ToArray();
        var r = Init.Resolve(rng);
        Weight = RegisterParameter("weight", Init.KaimingUniform(shape, fanIn, Math.Sqrt(5), r));
        if (bias) Bias = RegisterParameter("bias", Init.FanInUniform(new Shape(outChannels), fanIn, r));
    }

    /// <summary>Input channels.</summary>
    public long InChannels { get; }

    /// <summary>Output channels.</summary>
    public long OutChannels { get; }

    /// <summary>Kernel size per spatial dimension.</summary>
    public IReadOnlyList<int> KernelSize { get; }

    /// <summary>Stride per spatial dimension.</summary>
    public IReadOnlyList<int> Stride { get; }

    /// <summary>Zero padding per spatial dimension (both sides).</summary>
    public IReadOnlyList<int> Padding { get; }

    /// <summary>Dilation per spatial dimension.</summary>
    public IReadOnlyList<int> Dilation { get; }

    /// <summary>Number of channel groups.</summary>
    public int Groups { get; }

    /// <summary>The weight <c>[out, in/groups, k…]</c> (transposed convolutions: <c>[in, out/groups, k…]</c>).</summary>
    public Variable Weight { get; }

    /// <summary>The bias <c>[out]</c>, or null.</summary>
    public Variable? Bias { get; }

    /// <inheritdoc />
    public Module? InputTransform { get; private set; }

    /// <inheritdoc />
    public Module? WeightTransform { get; private set; }

    /// <inheritdoc />
    public void SetTransforms(Module? inputTransform, Module? weightTransform)
    {
        var layer = GetType().Name;
        LayerTransforms.CheckFree(layer, InputTransform, inputTransform, "input");
        LayerTransforms.CheckFree(layer, WeightTransform, weightTransform, "weight");
        if (inputTransform != null) InputTransform = LayerTransforms.Attach(inputTransform, Training, RegisterModule, ITransformableLayer.InputTransformName);
        if (weightTransform != null) WeightTransform = LayerTransforms.Attach(weightTransform, Training, RegisterModule, ITransformableLayer.WeightTransformName);
    }

    /// <summary>The (batched) input and the weight after the optional transforms.</summary>
    private protected (Tensor X, Tensor W) Transformed(string layer, Tensor x) =>
        (LayerTransforms.Apply(layer, InputTransform, x), LayerTransforms.Apply(layer, WeightTransform, Weight.Value));

    private protected void CheckChannels(string layer, Tensor x)
    {
        if (x.Shape[1] != InChannels)
            throw LayerChecks.InputError(layer, x, $"expects {InChannels} input channels (axis 1), got shape {x.Shape}");
    }

    /// <summary>Applies <paramref name="conv"/> (input, weight) to a batched or unbatched input after the channel check and
    /// the optional transforms.</summary>
    private protected Tensor Convolve(string layer, Tensor input, string layout, Func<Tensor, Tensor, Tensor> conv)
    {
        ArgumentNullException.ThrowIfNull(input);
        return LayerChecks.WithOptionalBatch(layer, input, KernelSize.Count + 2, layout, x =>
        {
            CheckChannels(layer, x);
            var (xt, w) = Transformed(layer, x);
            return conv(xt, w);
        });
    }
}

/// <summary>1-D convolution over <c>[N, C, L]</c> (or unbatched <c>[C, L]</c>), PyTorch's <c>nn.Conv1d</c>.</summary>
public sealed class Conv1d : ConvNd
{
    /// <summary>Creates the layer (see <see cref="ConvNd"/> for the initialisation).</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Kernel length.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Zero padding on both sides.</param>
    /// <param name="dilation">Spacing between kernel taps.</param>
    /// <param name="groups">Channel groups (both channel counts must be divisible by it).</param>
    /// <param name="bias">Whether to learn a bias.</param>
    /// <param name="rng">Initialisation generator; null forks the process-wide one.</param>
    public Conv1d(long inChannels, long outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1,
        bool bias = true, SeededRandom? rng = null)
        : base(nameof(Conv1d), 1, inChannels, outChannels, [kernelSize], [stride], [padding], [dilation], groups, bias, rng) { }

    /// <summary>Convolves <c>[N, in, L]</c> to <c>[N, out, L′]</c>.</summary>
    public override Tensor Forward(Tensor input) =>
        Convolve(nameof(Conv1d), input, "[N, C, L]", (x, w) => Ops.Conv1d(x, w, Bias?.Value, [.. Stride], [.. Padding], [.. Dilation], Groups));
}

/// <summary>2-D convolution over <c>[N, C, H, W]</c> (or unbatched <c>[C, H, W]</c>), PyTorch's <c>nn.Conv2d</c>.</summary>
public sealed class Conv2d : ConvNd
{
    /// <summary>Creates the layer with square kernel, stride, padding and dilation (see <see cref="ConvNd"/>).</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Zero padding on every side.</param>
    /// <param name="dilation">Spacing between kernel taps.</param>
    /// <param name="groups">Channel groups (both channel counts must be divisible by it).</param>
    /// <param name="bias">Whether to learn a bias.</param>
    /// <param name="rng">Initialisation generator; null forks the process-wide one.</param>
    public Conv2d(long inChannels, long outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1,
        bool bias = true, SeededRandom? rng = null)
        : base(nameof(Conv2d), 2, inChannels, outChannels, [kernelSize, kernelSize], [stride, stride], [padding, padding],
            [dilation, dilation], groups, bias, rng)
    { }

    /// <summary>Creates the layer with per-dimension (height, width) parameters; null stride/dilation mean 1, null padding 0.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Kernel (height, width).</param>
    /// <param name="stride">Stride (height, width).</param>
    /// <param name="padding">Zero padding (height, width).</param>
    /// <param name="dilation">Dilation (height, width).</param>
    /// <param name="groups">Channel groups.</param>
    /// <param name="bias">Whether to learn a bias.</param>
    /// <param name="rng">Initialisation generator; null forks the process-wide one.</param>
    public Conv2d(long inChannels, long outChannels, int[] kernelSize, int[]? stride = null, int[]? padding = null, int[]? dilation = null,
        int groups = 1, bool bias = true, SeededRandom? rng = null)
        : base(nameof(Conv2d), 2, inChannels, outChannels, kernelSize, stride, padding, dilation, groups, bias, rng) { }

    /// <summary>Convolves <c>[N, in, H, W]</c> to <c>[N, out, H′, W′]</c>.</summary>
    public override Tensor Forward(Tensor input) =>
        Convolve(nameof(Conv2d), input, "[N, C, H, W]", (x, w) => Ops.Conv2d(x, w, Bias?.Value, [.. Stride], [.. Padding], [.. Dilation], Groups));
}
