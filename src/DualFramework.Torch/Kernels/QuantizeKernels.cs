using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the quantize family (<c>OpSet.Quantize.cs</c>): DequantizeLinear, FakeQuantize, QuantizeLinear.</summary>
/// <remarks>libtorch's quantized tensors are barely exposed by TorchSharp, and its fake_quantize kernels multiply by a
/// float32 reciprocal where ONNX divides; so the ops are emulated with plain float ops, which are exact here: round is
/// half-to-even, and the integers involved (quantized values, zero points, their differences) are represented exactly
/// in the compute dtype.</remarks>
internal static class QuantizeKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.QuantizeLinear, (x, a, o) =>
        {
            using var noGrad = torch.no_grad();
            var (lo, hi) = o[0].DType == DType.Int8 ? (-128L, 127L) : (0L, 255L);
            using var q = Quantized(x, a.Axis, out _);
            using var min = Float64Scalar(lo);
            using var max = Float64Scalar(hi);
            using var c = q.clamp(min, max);
            return c.to_type(ScalarTypeOf(o[0].DType));
        });
        t.Add(OpSet.DequantizeLinear, (x, a, o) =>
        {
            using var noGrad = torch.no_grad();
            var v = Operand(x, 0);
            int rank = (int)v.dim();
            var cd = Compute(Operand(x, 1).dtype);
            // The difference in int32 is exact for int8/uint8 (and is ONNX's int32 arithmetic for int32 values).
            using var qi = To(v, torch.ScalarType.Int32);
            using var zi = Channel(Operand(x, 2), torch.ScalarType.Int32, rank, a.Axis);
            using var diff = qi.sub(zi);
            using var df = diff.to_type(cd);
            using var s = Channel(Operand(x, 1), cd, rank, a.Axis);
            var y = df.mul(s);
            return Finish(y, o[0].DType);
        });
        t.Add(OpSet.FakeQuantize, (x, a, o) =>
        {
            var v = Operand(x, 0);
            CheckZeroPoint(x, a);
            bool track = v.requires_grad && torch.is_grad_enabled();
            TT y, keep;
            using (torch.no_grad())
            {
                using var q = Quantized(x, a.Axis, out var cd);
                using var min = Float64Scalar(a.QuantMin);
                using var max = Float64Scalar(a.QuantMax);
                using var c = q.clamp(min, max);
                using var z = Channel(Operand(x, 2), cd, (int)v.dim(), a.Axis);
                using var s = Channel(Operand(x, 1), cd, (int)v.dim(), a.Axis);
                using var shifted = c.sub(z);
                y = Finish(shifted.mul(s), o[0].DType);
                if (!track) return y;
                using var ge = q.ge(min);
                using var le = q.le(max);
                keep = ge.logical_and(le);
            }
            // The straight-through estimator through libtorch autograd: where kept, y + (x − detach(x)) has y's value (x is
            // finite there, so the difference is exactly 0) and x's gradient; elsewhere y, which is detached.
            using (y)
            using (keep)
            {
                using var d = v.detach();
                using var zero = v.sub(d);
                using var through = y.add(zero, ScalarOne);
                return torch.where(keep, through, y);
            }
        });
    }

    /// <summary>round(x / scale) + zero_point in the compute dtype (unclamped).</summary>
    private static TT Quantized(ReadOnlySpan<Tensor> x, int axis, out torch.ScalarType cd)
    {
        var v = Operand(x, 0);
        cd = Compute(v.dtype);
        int rank = (int)v.dim();
        using var xv = To(v, cd);
        using var s = Channel(Operand(x, 1), cd, rank, axis);
        using var z = Channel(Operand(x, 2), cd, rank, axis);
        using var ratio = xv.div(s);
        using var r = ratio.round();
        return r.add(z, ScalarOne);
    }

    /// <summary>libtorch checks PyTorch's fake-quantize zero points the same way: they must lie in the quantized range.</summary>
    private static void CheckZeroPoint(ReadOnlySpan<Tensor> x, FakeQuantizeAttrs a)
    {
        using var noGrad = torch.no_grad();
        using var z = To(Operand(x, 2), torch.ScalarType.Int64);
        if (z.numel() == 0) return;
        using var lo = z.min();
        using var hi = z.max();
        long min = lo.item<long>(), max = hi.item<long>();
        if (min < a.QuantMin || max > a.QuantMax)
            throw new OpException("fake_quantize", [x[0].Spec, x[1].Spec, x[2].Spec],
                $"zero point {(min < a.QuantMin ? min : max)} is outside [quant_min, quant_max] = [{a.QuantMin}, {a.QuantMax}]", LayerPath.Current);
    }

    /// <summary>Half precision is computed in float32 (as ONNX Runtime does), other floating dtypes in themselves.</summary>
    private static torch.ScalarType Compute(torch.ScalarType st) =>
        st is torch.ScalarType.Float16 or torch.ScalarType.BFloat16 ? torch.ScalarType.Float32 : st;

    private static TT To(TT t, torch.ScalarType st) => t.dtype == st ? t.alias() : t.to_type(st);

    /// <summary>A per-tensor parameter as is, a per-channel one shaped to broadcast along <paramref name="axis"/>; in <paramref name="st"/>.</summary>
    private static TT Channel(TT p, torch.ScalarType st, int rank, int axis)
    {
        using var c = To(p, st);
        return p.dim() == 0 ? c.alias() : c.reshape(FakeQuantizeOp.ChannelShape(rank, axis, p.shape[0]));
    }

    /// <summary>Rounds <paramref name="y"/> (owned) to the output dtype.</summary>
    private static TT Finish(TT y, DType output)
    {
        var st = ScalarTypeOf(output);
        if (y.dtype == st) return y;
        using (y) return y.to_type(st);
    }
}
