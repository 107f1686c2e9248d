using DualFramework.Autodiff;

namespace DualFramework.Operators;

/// <summary>The quantization axis of quantize_linear / dequantize_linear.</summary>
/// <param name="Axis">Normalised axis (0 ≤ axis &lt; rank) along which a 1-D scale and zero point apply (per-channel); ignored when
/// they are scalars (per-tensor).</param>
public sealed record QuantizeAttrs(int Axis) : OpAttrs;

/// <summary>The integer range and quantization axis of fake_quantize.</summary>
/// <param name="QuantMin">Smallest quantized value (e.g. −128 for int8, 0 for uint8).</param>
/// <param name="QuantMax">Largest quantized value (e.g. 127 for int8, 255 for uint8).</param>
/// <param name="Axis">Normalised per-channel axis, ignored when scale and zero point are scalars (per-tensor).</param>
public sealed record FakeQuantizeAttrs(long QuantMin, long QuantMax, int Axis) : OpAttrs;

/// <summary>Shape rule shared by the quantization ops: scale and zero point are both scalars (per-tensor) or both 1-D with
/// the size of the operand along the axis (per-channel).</summary>
public abstract class QuantizeOpBase<TAttrs> : Op<TAttrs> where TAttrs : OpAttrs
{
    /// <inheritdoc />
    private protected QuantizeOpBase(string name) : base(name) { }

    /// <summary>Checks scale (operand 1) and zero point (operand 2) against operand 0 and the axis.</summary>
    protected void CheckParams(ReadOnlySpan<TensorSpec> inputs, int axis)
    {
        Shape x = inputs[0].Shape, s = inputs[1].Shape, z = inputs[2].Shape;
        if (s != z) throw Fail(inputs, $"scale {s} and zero point {z} must have one shape");
        if (s.Rank == 0) return;
        if (s.Rank != 1) throw Fail(inputs, $"scale must be a scalar (per-tensor) or 1-D (per-channel), got rank {s.Rank}");
        if (axis < 0 || axis >= x.Rank) throw Fail(inputs, $"axis {axis} is out of range for rank {x.Rank}");
        if (s[0] != x[axis]) throw Fail(inputs, $"per-channel scale has {s[0]} entries, the operand has {x[axis]} along axis {axis}");
    }
}

/// <summary>
/// <c>quantize_linear(x, scale, zero_point)</c> (ONNX QuantizeLinear, opset 13): <c>saturate(round(x / scale) + zero_point)</c>,
/// rounding halves to even and saturating to the range of the zero point's dtype (int8 or uint8), which is the result's dtype.
/// x and scale share a floating dtype; half-precision operands are computed in float32. NaN inputs give unspecified values.
/// </summary>
public sealed class QuantizeLinearOp : QuantizeOpBase<QuantizeAttrs>
{
    internal QuantizeLinearOp() : base("quantize_linear") { }

    /// <inheritdoc />
    public override bool IsDifferentiable => false;

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, QuantizeAttrs attrs)
    {
        Arity(inputs, 3);
        if (!inputs[0].DType.IsFloating()) throw Fail(inputs, $"x must be floating, got {inputs[0].DType.Name()}");
        if (inputs[1].DType != inputs[0].DType) throw Fail(inputs, $"scale must have x's dtype {inputs[0].DType.Name()}, got {inputs[1].DType.Name()}");
        if (inputs[2].DType is not (DType.Int8 or DType.UInt8)) throw Fail(inputs, $"zero point must be int8 or uint8, got {inputs[2].DType.Name()}");
        CheckParams(inputs, attrs.Axis);
        return One(inputs[0].Shape, inputs[2].DType);
    }
}

/// <summary>
/// <c>dequantize_linear(q, scale, zero_point)</c> (ONNX DequantizeLinear, opset 13): <c>(q − zero_point) · scale</c>, the
/// difference taken exactly in integers, the product in the scale's floating dtype (the result's; half precision is
/// computed in float32 and rounded once). q and zero point share a dtype: int8, uint8 or int32.
/// </summary>
public sealed class DequantizeLinearOp : QuantizeOpBase<QuantizeAttrs>
{
    internal DequantizeLinearOp() : base("dequantize_linear") { }

    /// <inheritdoc />
    public override bool IsDifferentiable => false;

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, QuantizeAttrs attrs)
    {
        Arity(inputs, 3);
        if (inputs[0].DType is not (DType.Int8 or DType.UInt8 or DType.Int32)) throw Fail(inputs, $"q must be int8, uint8 or int32, got {inputs[0].DType.Name()}");
        if (inputs[2].DType != inputs[0].DType) throw Fail(inputs, $"zero point must have q's dtype {inputs[0].DType.Name()}, got {inputs[2].DType.Name()}");
        if (!inputs[1].DType.IsFloating()) throw Fail(inputs, $"scale must be floating, got {inputs[1].DType.Name()}");
        CheckParams(inputs, attrs.Axis);
        return One(inputs[0].Shape, inputs[1].DType);
    }
}

/// <summary>
/// <c>fake_quantize(x, scale, zero_point)</c>: <c>(clamp(round(x / scale) + zero_point, quant_min, quant_max) − zero_point) · scale</c>
/// in x's floating dtype (half precision computed in float32), rounding halves to even — dequantize(quantize(x)) for an
/// integer range [quant_min, quant_max], as PyTorch's fake_quantize_per_tensor_affine / per_channel_affine except that x is
/// divided by the scale (as ONNX QuantizeLinear does) where PyTorch multiplies by its float32 reciprocal. The zero point
/// has an integer dtype and must lie in [quant_min, quant_max] (the torch backend checks it). The arithmetic is exact while
/// the quantized values stay below 2²⁴ (float32) or 2⁵³ (float64) in magnitude.
/// Gradient: the straight-through estimator — the upstream gradient where quant_min ≤ round(x/scale) + zero_point ≤ quant_max,
/// 0 elsewhere; none flows to the scale or the zero point.
/// </summary>
public sealed class FakeQuantizeOp : QuantizeOpBase<FakeQuantizeAttrs>
{
    internal FakeQuantizeOp() : base("fake_quantize") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, FakeQuantizeAttrs attrs)
    {
        Arity(inputs, 3);
        if (!inputs[0].DType.IsFloating()) throw Fail(inputs, $"x must be floating, got {inputs[0].DType.Name()}");
        if (inputs[1].DType != inputs[0].DType) throw Fail(inputs, $"scale must have x's dtype {inputs[0].DType.Name()}, got {inputs[1].DType.Name()}");
        if (!inputs[2].DType.IsInteger()) throw Fail(inputs, $"zero point must have an integer dtype, got {inputs[2].DType.Name()}");
        if (attrs.QuantMin > attrs.QuantMax) throw Fail(inputs, $"quant_min {attrs.QuantMin} is larger than quant_max {attrs.QuantMax}");
        CheckParams(inputs, attrs.Axis);
        return [inputs[0]];
    }

    /// <summary>The straight-through estimator: the mask of elements whose quantized value was not clamped.</summary>
    public override Tensor?[] Gradient(GradContext ctx)
    {
        if (!ctx.NeedsGrad(0)) return [null, null, null];
        var a = ctx.AttrsAs<FakeQuantizeAttrs>();
        var q = Quantized(ctx.Inputs[0], ctx.Inputs[1], ctx.Inputs[2], a.Axis);
        var keep = DualFramework.Ops.LogicalAnd(DualFramework.Ops.GreaterEqual(q, a.QuantMin), DualFramework.Ops.LessEqual(q, a.QuantMax));
        var g = ctx.Grad;
        return [DualFramework.Ops.Where(keep, g, DualFramework.Ops.ZerosLike(g)), null, null];
    }

    /// <summary>round(x / scale) + zero_point, unclamped, computed as the kernels compute it (half precision in float32).</summary>
    private static Tensor Quantized(Tensor x, Tensor scale, Tensor zeroPoint, int axis)
    {
        var cd = x.DType is DType.Float16 or DType.BFloat16 ? DType.Float32 : x.DType;
        var s = DualFramework.Ops.Cast(scale, cd);
        if (s.Rank == 1) s = DualFramework.Ops.Reshape(s, ChannelShape(x.Rank, axis, s.Shape[0]));
        var z = DualFramework.Ops.Cast(zeroPoint, cd);
        if (z.Rank == 1) z = DualFramework.Ops.Reshape(z, ChannelShape(x.Rank, axis, z.Shape[0]));
        return DualFramework.Ops.Add(DualFramework.Ops.Round(DualFramework.Ops.Div(DualFramework.Ops.Cast(x, cd), s)), z);
    }

    /// <summary>The shape [1, …, n, …, 1] (n at <paramref name="axis"/>) that broadcasts per-channel parameters.</summary>
    internal static long[] ChannelShape(int rank, int axis, long n)
    {
        var d = Enumerable.Repeat(1L, rank).ToArray();
        d[axis] = n;
        return d;
    }
}

public static partial class OpSet
{
    /// <summary>Linear quantization to int8/uint8 (ONNX QuantizeLinear; not differentiable).</summary>
    public static readonly QuantizeLinearOp QuantizeLinear = new();

    /// <summary>Linear dequantization of int8/uint8/int32 values (ONNX DequantizeLinear; not differentiable).</summary>
    public static readonly DequantizeLinearOp DequantizeLinear = new();

    /// <summary>Quantize-dequantize with the straight-through gradient (PyTorch's fake_quantize_*_affine).</summary>
    public static readonly FakeQuantizeOp FakeQuantize = new();
}
