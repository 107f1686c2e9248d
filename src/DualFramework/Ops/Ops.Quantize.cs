using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>Linear quantization as ONNX QuantizeLinear (opset 13): <c>saturate(round(x / scale) + zeroPoint)</c>, halves
    /// rounded to even, saturated to the range of the zero point's dtype (the result's dtype: int8 [−128, 127] or uint8
    /// [0, 255]). Not differentiable (see <see cref="FakeQuantize(Tensor, Tensor, Tensor, long, long, int)"/> for training).</summary>
    /// <param name="x">Floating tensor (half precision is computed in float32).</param>
    /// <param name="scale">Positive scale: a scalar (per-tensor) or a 1-D tensor with one entry per index of
    /// <paramref name="axis"/> (per-channel); cast to x's dtype.</param>
    /// <param name="zeroPoint">int8 or uint8 zero point of the scale's shape; null means uint8 zeros (as in ONNX).</param>
    /// <param name="axis">Per-channel axis (negative counts from the end; ONNX's default 1); ignored per-tensor.</param>
    /// <exception cref="OpException">Scale and zero point differ in shape, are neither scalar nor 1-D of the axis' size, or
    /// have the wrong dtypes.</exception>
    public static Tensor QuantizeLinear(Tensor x, Tensor scale, Tensor? zeroPoint = null, int axis = 1)
    {
        var s = scale.DType.IsFloating() ? CastTo(scale, x.DType) : scale;
        var z = zeroPoint ?? Zeros(scale.Shape, DType.UInt8, x.Backend);
        return Apply(OpSet.QuantizeLinear, new QuantizeAttrs(QuantAxis(axis, x.Rank, scale.Rank)), x, s, z);
    }

    /// <summary>Linear dequantization as ONNX DequantizeLinear (opset 13): <c>(q − zeroPoint) · scale</c>, the difference exact
    /// in integers, the result in the scale's dtype. Not differentiable.</summary>
    /// <param name="q">int8, uint8 or int32 tensor.</param>
    /// <param name="scale">Floating scale: a scalar (per-tensor) or 1-D with one entry per index of <paramref name="axis"/>.</param>
    /// <param name="zeroPoint">Zero point of q's dtype and the scale's shape; null means zeros.</param>
    /// <param name="axis">Per-channel axis (negative counts from the end; ONNX's default 1); ignored per-tensor.</param>
    /// <exception cref="OpException">Shapes or dtypes of the parameters do not fit (as for <see cref="QuantizeLinear"/>).</exception>
    public static Tensor DequantizeLinear(Tensor q, Tensor scale, Tensor? zeroPoint = null, int axis = 1)
    {
        var z = zeroPoint ?? Zeros(scale.Shape, q.DType, q.Backend);
        return Apply(OpSet.DequantizeLinear, new QuantizeAttrs(QuantAxis(axis, q.Rank, scale.Rank)), q, scale, z);
    }

    /// <summary>Fake quantization for quantization-aware training, as PyTorch's <c>fake_quantize_per_tensor_affine</c> (scalar
    /// scale and zero point) or <c>fake_quantize_per_channel_affine</c> (1-D along <paramref name="axis"/>):
    /// <c>(clamp(round(x / scale) + zeroPoint, quantMin, quantMax) − zeroPoint) · scale</c> in x's dtype, halves rounded to even.
    /// x is divided by the scale as in ONNX QuantizeLinear (PyTorch multiplies by the float32 reciprocal, which can move a
    /// value lying on a rounding tie by one step). The gradient is the straight-through estimator: the upstream gradient
    /// where quantMin ≤ round(x / scale) + zeroPoint ≤ quantMax, zero elsewhere; no gradient flows to the scale or the zero
    /// point. Autocast runs it in float32.</summary>
    /// <param name="x">Floating tensor.</param>
    /// <param name="scale">Positive scale, scalar or 1-D (per-channel); cast to x's dtype.</param>
    /// <param name="zeroPoint">Integer zero point of the scale's shape, within [quantMin, quantMax] (checked by the torch
    /// backend; other backends give unspecified values).</param>
    /// <param name="quantMin">Smallest quantized value (−128 for int8, 0 for uint8).</param>
    /// <param name="quantMax">Largest quantized value (127 for int8, 255 for uint8).</param>
    /// <param name="axis">Per-channel axis (negative counts from the end; PyTorch's usual 0); ignored per-tensor.</param>
    /// <exception cref="OpException">quantMin &gt; quantMax, or the parameters' shapes or dtypes do not fit.</exception>
    public static Tensor FakeQuantize(Tensor x, Tensor scale, Tensor zeroPoint, long quantMin, long quantMax, int axis = 0)
    {
        var s = scale.DType.IsFloating() ? CastTo(scale, x.DType) : scale;
        return Apply(OpSet.FakeQuantize, new FakeQuantizeAttrs(quantMin, quantMax, QuantAxis(axis, x.Rank, scale.Rank)), x, s, zeroPoint);
    }

    /// <summary>Per-tensor fake quantization with constant parameters (PyTorch's
    /// <c>fake_quantize_per_tensor_affine(x, scale, zero_point, quant_min, quant_max)</c>); see
    /// <see cref="FakeQuantize(Tensor, Tensor, Tensor, long, long, int)"/>.</summary>
    /// <param name="x">Floating tensor.</param>
    /// <param name="scale">Positive scale.</param>
    /// <param name="zeroPoint">Zero point in [quantMin, quantMax].</param>
    /// <param name="quantMin">Smallest quantized value.</param>
    /// <param name="quantMax">Largest quantized value.</param>
    public static Tensor FakeQuantize(Tensor x, double scale, long zeroPoint, long quantMin, long quantMax) =>
        FakeQuantize(x, ScalarLike(x, scale, x.DType), ScalarLike(x, zeroPoint, DType.Int64), quantMin, quantMax);

    // Per-tensor parameters ignore the axis: it is stored as 0 so that equal applications have equal attributes.
    private static int QuantAxis(int axis, int rank, int scaleRank) =>
        scaleRank == 0 ? 0 : axis < 0 && axis + rank >= 0 ? axis + rank : axis;
}
