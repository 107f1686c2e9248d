using DualFramework.NN;

namespace DualFramework.Quantization.Qat;

/// <summary>
/// Per-tensor affine fake quantization of activations with a moving-average min/max observer (PyTorch's
/// <c>FakeQuantize</c> with <c>MovingAverageMinMaxObserver</c>). Buffers: <c>min_val</c> and <c>max_val</c>, float32 scalars
/// starting at +∞ and −∞ ("nothing observed yet").
/// </summary>
/// <remarks>
/// In training mode every forward first updates the buffers from the batch — the first batch sets them, later ones move
/// them by <c>r ← r + c·(batch − r)</c> — by <see cref="Variable.Assign"/>, as batch normalisation updates its running
/// statistics, so compiled train steps carry the update as graph state. Then it fake-quantizes the input with the
/// parameters of the updated range. In evaluation mode the buffers are read only (frozen scale and zero point).
/// Parameters (PyTorch's <c>_calculate_qparams</c>): the range is widened to contain 0, <c>scale = max((hi − lo) /
/// (qmax − qmin), eps)</c>, <c>zero_point = clamp(qmin − round(lo / scale), qmin, qmax)</c>, so 0.0 is represented exactly
/// (it quantizes to the zero point). Before any observation the parameters are scale 1, zero point 0.
/// </remarks>
public sealed class ActivationFakeQuantize : Module
{
    private readonly QatOptions _options;

    /// <summary>Creates the module with empty statistics.</summary>
    public ActivationFakeQuantize(QatOptions? options = null)
    {
        _options = options ?? new QatOptions();
        _options.Validate();
        MinVal = RegisterBuffer("min_val", Ops.Full(Shape.Scalar, double.PositiveInfinity));
        MaxVal = RegisterBuffer("max_val", Ops.Full(Shape.Scalar, double.NegativeInfinity));
    }

    /// <summary>Running minimum (float32 scalar; +∞ before the first observation).</summary>
    public Variable MinVal { get; }

    /// <summary>Running maximum (float32 scalar; −∞ before the first observation).</summary>
    public Variable MaxVal { get; }

    /// <summary>Smallest quantized value.</summary>
    public long QuantMin => _options.ActivationQuantMin;

    /// <summary>Largest quantized value.</summary>
    public long QuantMax => _options.ActivationQuantMax;

    /// <summary>Storage dtype of the quantized values (uint8 for a non-negative range, else int8); the zero point's dtype.</summary>
    public DType QuantDType => QuantMin >= 0 ? DType.UInt8 : DType.Int8;

    /// <summary>Set by <see cref="Qat.Convert"/> while it exports the float graph: the module passes its input through.</summary>
    internal bool Bypassed { get; set; }

    /// <summary>Observes <paramref name="input"/> (training mode only) and returns it fake-quantized.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (Bypassed) return input;
        if (Training) Observe(input);
        var (scale, zeroPoint) = QParams();
        return Ops.FakeQuantize(input, scale, zeroPoint, QuantMin, QuantMax);
    }

    private void Observe(Tensor input)
    {
        // Statistics are not part of the differentiated computation.
        var x = Ops.StopGradient(input);
        var lo = Ops.Min(x);
        var hi = Ops.Max(x);
        if (lo.DType != DType.Float32)
        {
            lo = Ops.Cast(lo, DType.Float32);
            hi = Ops.Cast(hi, DType.Float32);
        }
        // Before the first batch the "previous" value is the batch's own, so the update returns it exactly (and the
        // infinities never enter the arithmetic).
        var seen = Ops.LessEqual(MinVal.Value, MaxVal.Value);
        var prevLo = Ops.Where(seen, MinVal.Value, lo);
        var prevHi = Ops.Where(seen, MaxVal.Value, hi);
        double c = _options.AveragingConstant;
        MinVal.Assign(Ops.Add(prevLo, Ops.Mul(Ops.Sub(lo, prevLo), c)));
        MaxVal.Assign(Ops.Add(prevHi, Ops.Mul(Ops.Sub(hi, prevHi), c)));
    }

    /// <summary>The current scale (float32 scalar) and zero point (scalar of <see cref="QuantDType"/>) from the buffers.</summary>
    public (Tensor Scale, Tensor ZeroPoint) QParams()
    {
        var seen = Ops.LessEqual(MinVal.Value, MaxVal.Value);
        var lo = Ops.Minimum(Ops.Where(seen, MinVal.Value, 0.0), 0.0);
        var hi = Ops.Maximum(Ops.Where(seen, MaxVal.Value, 0.0), 0.0);
        var scale = Ops.Maximum(Ops.Div(Ops.Sub(hi, lo), QuantMax - QuantMin), _options.Eps);
        var zp = Ops.Clamp(Ops.Add(Ops.Neg(Ops.Round(Ops.Div(lo, scale))), QuantMin), QuantMin, QuantMax);
        scale = Ops.Where(seen, scale, 1.0);
        zp = Ops.Where(seen, zp, 0.0);
        return (scale, Ops.Cast(zp, QuantDType));
    }
}
