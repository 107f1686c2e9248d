namespace DualFramework.Quantization.Qat;

/// <summary>Settings of <see cref="Qat.Prepare"/>. The defaults are PyTorch's x86 QAT configuration: weights per-channel
/// symmetric int8 in [−127, 127], activations per-tensor asymmetric uint8 in [0, 255] observed by a moving-average min/max
/// with averaging constant 0.01.</summary>
public sealed record QatOptions
{
    /// <summary>Weight of the new batch in the activation observers' running min/max: <c>r ← r + c·(batch − r)</c>
    /// (PyTorch's <c>averaging_constant</c>, default 0.01). In (0, 1].</summary>
    public double AveragingConstant { get; init; } = 0.01;

    /// <summary>Smallest quantized activation (default 0: uint8).</summary>
    public long ActivationQuantMin { get; init; }

    /// <summary>Largest quantized activation (default 255: uint8).</summary>
    public long ActivationQuantMax { get; init; } = 255;

    /// <summary>Largest quantized weight magnitude: weights use [−WeightQuantMax, WeightQuantMax] (default 127, the
    /// symmetric "narrow" int8 range; see <c>docs/quantization.md ("Quantization-aware training")</c>). At most 127 so the weights fit int8.</summary>
    public long WeightQuantMax { get; init; } = 127;

    /// <summary>Convolutions whose dot products are shorter than this (input channels per group × kernel elements) are not
    /// prepared and stay float32, as post-training quantization leaves them (<see cref="StaticQuantizationOptions.MinConvDepth"/>,
    /// default 16; 0 prepares every convolution): ONNX Runtime runs them faster in float.</summary>
    public int MinConvDepth { get; init; } = 16;

    /// <summary>Which layers to prepare, by dotted module name and module (default: every <see cref="NN.ITransformableLayer"/>:
    /// Linear, Conv1d, Conv2d).</summary>
    public Func<string, NN.Module, bool>? Filter { get; init; }

    /// <summary>Lower bound of every scale (PyTorch's observer <c>eps</c>, float32's machine epsilon): keeps an all-zero
    /// channel or a constant activation from a zero scale.</summary>
    public double Eps { get; init; } = 1.1920928955078125e-07;

    internal void Validate()
    {
        if (!(AveragingConstant > 0 && AveragingConstant <= 1))
            throw new QuantizationException($"QatOptions.AveragingConstant must be in (0, 1], got {AveragingConstant}.");
        if (ActivationQuantMin >= ActivationQuantMax || ActivationQuantMin < -128 || ActivationQuantMax > 255 || (ActivationQuantMin < 0 && ActivationQuantMax > 127))
            throw new QuantizationException($"QatOptions activation range [{ActivationQuantMin}, {ActivationQuantMax}] must lie in int8 [-128, 127] or uint8 [0, 255].");
        if (WeightQuantMax is < 1 or > 127)
            throw new QuantizationException($"QatOptions.WeightQuantMax must be in [1, 127], got {WeightQuantMax}.");
        if (MinConvDepth < 0) throw new QuantizationException($"QatOptions.MinConvDepth must be at least 0, got {MinConvDepth}.");
        if (!(Eps > 0)) throw new QuantizationException($"QatOptions.Eps must be positive, got {Eps}.");
    }
}
