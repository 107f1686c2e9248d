using DualFramework.Onnx.Proto;
using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the quantize family (<c>OpSet.Quantize.cs</c>).</summary>
    /// <remarks>Opset 13's QuantizeLinear / DequantizeLinear take float32 only; other floating dtypes get the same formula
    /// from Div, Round, Add, Clip, Sub, Mul and Cast, in float64 or (half precision) float32 — the dtypes the torch kernels
    /// compute in, so the results agree exactly.</remarks>
    private static void AddQuantize(LoweringTable t)
    {
        t.Add(OpSet.QuantizeLinear, (c, a) =>
        {
            var dt = c.InSpec(0).DType;
            if (dt == DType.Float32)
            {
                c.Result(0, "QuantizeLinear", [c.In(0), c.In(1), c.In(2)], QuantAxis(c, a.Axis));
                return;
            }
            var cd = Compute(dt);
            var (lo, hi) = c.OutSpec(0).DType == DType.Int8 ? (-128, 127) : (0, 255);
            Finish(c, 0, c.Op("Clip", QuantizedValue(c, cd, a.Axis), c.Scalar(lo, cd), c.Scalar(hi, cd)), cd);
        });
        t.Add(OpSet.DequantizeLinear, (c, a) =>
        {
            var qt = c.InSpec(0).DType;
            var sd = c.InSpec(1).DType;
            if (sd == DType.Float32 && qt != DType.Int32)
            {
                c.Result(0, "DequantizeLinear", [c.In(0), c.In(1), c.In(2)], QuantAxis(c, a.Axis));
                return;
            }
            // ORT's DequantizeLinear wants a zero int32 zero point; the general formula, the difference in int32 as ONNX's.
            var cd = Compute(sd);
            var q = c.Cast(c.In(0), qt, DType.Int32);
            var z = ChannelParam(c, c.Cast(c.In(2), qt, DType.Int32), 2, a.Axis);
            var diff = c.Cast(c.Op("Sub", q, z), DType.Int32, cd);
            var s = ChannelParam(c, c.Cast(c.In(1), sd, cd), 1, a.Axis);
            Finish(c, 0, c.Op("Mul", diff, s), cd);
        });
        t.Add(OpSet.FakeQuantize, (c, a) =>
        {
            var dt = c.InSpec(0).DType;
            var storage = a.QuantMin >= 0 && a.QuantMax <= 255 ? DType.UInt8
                : a.QuantMin >= -128 && a.QuantMax <= 127 ? DType.Int8 : (DType?)null;
            if (dt == DType.Float32 && storage is { } st)
            {
                // QuantizeLinear → (Clip to a narrower range) → DequantizeLinear. The zero point lies in [quant_min,
                // quant_max] (a precondition), so its cast to the storage dtype is exact.
                var axis = QuantAxis(c, a.Axis);
                var z = c.Cast(c.In(2), c.InSpec(2).DType, st);
                var q = c.Op("QuantizeLinear", [c.In(0), c.In(1), z], axis);
                var (lo, hi) = st == DType.Int8 ? (-128L, 127L) : (0L, 255L);
                if (a.QuantMin != lo || a.QuantMax != hi) q = c.Op("Clip", q, c.Scalar(a.QuantMin, st), c.Scalar(a.QuantMax, st));
                c.Result(0, "DequantizeLinear", [q, c.In(1), z], axis);
                return;
            }
            var cd = Compute(dt);
            var clipped = c.Op("Clip", QuantizedValue(c, cd, a.Axis), c.Scalar(a.QuantMin, cd), c.Scalar(a.QuantMax, cd));
            var zf = ChannelParam(c, c.Cast(c.In(2), c.InSpec(2).DType, cd), 2, a.Axis);
            var sf = ChannelParam(c, c.Cast(c.In(1), c.InSpec(1).DType, cd), 1, a.Axis);
            Finish(c, 0, c.Op("Mul", c.Op("Sub", clipped, zf), sf), cd);
        });
    }

    /// <summary>The axis attribute of a per-channel QuantizeLinear / DequantizeLinear (none per-tensor, where it is ignored).</summary>
    private static AttributeProto[] QuantAxis(LoweringContext c, int axis) =>
        c.InSpec(1).Shape.Rank == 0 ? [] : [OnnxAttr.Int("axis", axis)];

    /// <summary>round(x / scale) + zero_point in <paramref name="cd"/>, unclamped (x, scale, zero point are operands 0–2).</summary>
    private static string QuantizedValue(LoweringContext c, DType cd, int axis)
    {
        var x = c.Cast(c.In(0), c.InSpec(0).DType, cd);
        var s = ChannelParam(c, c.Cast(c.In(1), c.InSpec(1).DType, cd), 1, axis);
        var z = ChannelParam(c, c.Cast(c.In(2), c.InSpec(2).DType, cd), 2, axis);
        return c.Op("Add", c.Op("Round", c.Op("Div", x, s)), z);
    }

    /// <summary>Operand <paramref name="i"/> (already in <paramref name="p"/>) reshaped to broadcast along <paramref name="axis"/> when
    /// it is per-channel.</summary>
    private static string ChannelParam(LoweringContext c, string p, int i, int axis)
    {
        var shape = c.InSpec(i).Shape;
        if (shape.Rank == 0) return p;
        var dims = Enumerable.Repeat(1L, c.InSpec(0).Shape.Rank).ToArray();
        dims[axis] = shape[0];
        return c.Op("Reshape", p, c.Ints(dims));
    }
}
