namespace DualFramework.Quantization;

/// <summary>Affine quantization parameters: <c>x ≈ (q − ZeroPoint) · Scale</c>.</summary>
/// <param name="Scale">Real value of one integer step (&gt; 0).</param>
/// <param name="ZeroPoint">Integer that represents the real 0 exactly.</param>
public readonly record struct QuantParams(float Scale, int ZeroPoint);

/// <summary>
/// The scale/zero-point formulas (those of ONNX Runtime's quantization tool and of ONNX QuantizeLinear): the range is
/// first widened to contain 0, so that 0 (padding, ReLU's floor) is exactly representable.
/// </summary>
public static class QuantMath
{
    /// <summary>The integer range: int8 [-128, 127] (symmetric: [-127, 127], so that ±max map to ±127 and zero point is
    /// 0), uint8 [0, 255]; with <paramref name="reduceRange"/> 7 bits: int8 [-64, 64], uint8 [0, 127].</summary>
    public static (int QMin, int QMax) Range(bool signed, bool symmetric, bool reduceRange) =>
        (signed, reduceRange) switch
        {
            (true, true) => (-64, 64),
            (true, false) => symmetric ? (-127, 127) : (-128, 127),
            (false, true) => (0, 127),
            (false, false) => (0, 255),
        };

    /// <summary>Asymmetric parameters of [<paramref name="rmin"/>, <paramref name="rmax"/>] ∪ {0}:
    /// scale = (rmax − rmin)/(qmax − qmin), zero point = round(qmin − rmin/scale). An empty range gives scale 1, zero point
    /// qmin clamped to contain 0.</summary>
    public static QuantParams Asymmetric(float rmin, float rmax, int qmin, int qmax)
    {
        CheckRange(rmin, rmax);
        rmin = Math.Min(rmin, 0f);
        rmax = Math.Max(rmax, 0f);
        float scale = (rmax - rmin) / (qmax - qmin);
        if (!(scale > 0f) || !float.IsNormal(scale)) return new QuantParams(1f, Math.Clamp(0, qmin, qmax));
        int zp = (int)Math.Round(qmin - (double)rmin / scale, MidpointRounding.ToEven);
        return new QuantParams(scale, Math.Clamp(zp, qmin, qmax));
    }

    /// <summary>Symmetric parameters: scale = 2·max(|rmin|, |rmax|)/(qmax − qmin), zero point = the middle of the integer
    /// range (0 for int8).</summary>
    public static QuantParams Symmetric(float rmin, float rmax, int qmin, int qmax)
    {
        CheckRange(rmin, rmax);
        float absMax = Math.Max(Math.Abs(rmin), Math.Abs(rmax));
        float scale = 2f * absMax / (qmax - qmin);
        int zp = (int)Math.Round((qmin + qmax) / 2.0, MidpointRounding.ToEven);
        return !(scale > 0f) || !float.IsNormal(scale) ? new QuantParams(1f, zp) : new QuantParams(scale, zp);
    }

    /// <summary>ONNX QuantizeLinear: saturate(round_half_even(x / scale) + zero point) into [qmin, qmax].</summary>
    public static int Quantize(float x, QuantParams p, int qmin, int qmax)
    {
        double q = Math.Round(x / p.Scale, MidpointRounding.ToEven) + p.ZeroPoint;
        return (int)Math.Clamp(q, qmin, qmax);
    }

    /// <summary>ONNX DequantizeLinear: (q − zero point) · scale.</summary>
    public static float Dequantize(int q, QuantParams p) => (q - p.ZeroPoint) * p.Scale;

    private static void CheckRange(float rmin, float rmax)
    {
        if (!float.IsFinite(rmin) || !float.IsFinite(rmax))
            throw new QuantizationException($"Cannot quantize the range [{rmin}, {rmax}]: it is not finite.");
        if (rmin > rmax) throw new QuantizationException($"Cannot quantize the range [{rmin}, {rmax}]: min > max.");
    }
}
