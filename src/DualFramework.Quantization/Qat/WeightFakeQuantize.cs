using DualFramework.NN;

namespace DualFramework.Quantization.Qat;

/// <summary>
/// Per-channel symmetric fake quantization of a weight along axis 0 (output channels) to <c>[−qmax, qmax]</c> (default
/// [−127, 127]), zero point 0. The scale of channel k is <c>max(max|W[k]| / qmax, eps)</c>, computed from the weight as it
/// is in this forward (PyTorch's per-channel min/max observer restarted every step), so no weight is ever clipped and the
/// scale needs no buffer: in evaluation mode the weight does not change, so neither does its scale.
/// </summary>
public sealed class WeightFakeQuantize : Module
{
    private readonly QatOptions _options;

    /// <summary>Creates the module.</summary>
    public WeightFakeQuantize(QatOptions? options = null)
    {
        _options = options ?? new QatOptions();
        _options.Validate();
    }

    /// <summary>Largest quantized magnitude.</summary>
    public long QuantMax => _options.WeightQuantMax;

    /// <summary>Set by <see cref="Qat.Convert"/> while it exports the float graph: the module passes the weight through.</summary>
    internal bool Bypassed { get; set; }

    /// <summary>Returns the weight <paramref name="input"/> fake-quantized per output channel.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (Bypassed) return input;
        var (scale, zeroPoint) = QParams(input);
        return Ops.FakeQuantize(input, scale, zeroPoint, -QuantMax, QuantMax, axis: 0);
    }

    /// <summary>The per-channel scales (1-D, the weight's dtype) and zero points (int8 zeros) of <paramref name="weight"/>.</summary>
    public (Tensor Scale, Tensor ZeroPoint) QParams(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank < 1) throw new QuantizationException($"Per-channel weight quantization needs a weight of rank ≥ 1, got {weight.Shape}.");
        var w = Ops.Abs(Ops.StopGradient(weight));
        var amax = weight.Rank == 1 ? w : Ops.Max(w, Enumerable.Range(1, weight.Rank - 1).ToArray());
        var scale = Ops.Maximum(Ops.Div(amax, QuantMax), _options.Eps);
        return (scale, Ops.Zeros(new Shape(weight.Shape[0]), DType.Int8, weight.Backend));
    }
}
