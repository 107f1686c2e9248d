using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        // Largest reduction length (input channels per group × kernel size) for which the integer convolution below is exact:
        // float32 sums of integers are exact while every partial sum stays below 2²⁴, and the weight is split so that each
        // product is at most 255·16 = 4080 in magnitude (2²⁴ / 4080 ≈ 4112).
        private const long ExactConvTerms = (1L << 24) / (255 * 16);

        /// <summary>
        /// QuantizeLinear / DequantizeLinear on the op set's quantize family; DynamicQuantizeLinear, MatMulInteger, ConvInteger,
        /// QLinearMatMul and QLinearConv decomposed into op-set ops (docs/onnx-import.md, "Quantized operators"). Integer
        /// accumulation is exact: matrix products of zero-point-shifted 8-bit values (each product ≤ 255² &lt; 2¹⁶) are summed
        /// in float64, exact for any K &lt; 2³⁷; convolutions run in float32 with the weight split in two (exact for
        /// C/group·∏kernel ≤ 4112, which the import checks). Results must fit int32 as ONNX requires (where ORT wraps an
        /// overflowing int32 sum, ours saturates).
        /// </summary>
        private void AddQuantize()
        {
            Map("QuantizeLinear", _ =>
            {
                var x = In(0);
                if (!x.Spec.DType.IsFloating()) throw Bad($"{x.Spec.DType.Name()} inputs are not supported (floating only)");
                var (s, z, axis) = QParams(x, Has(2) ? In(2) : null, DType.UInt8);
                if (z.Spec.DType is not (DType.Int8 or DType.UInt8)) throw Bad($"{z.Spec.DType.Name()} zero points are not supported (int8, uint8)");
                return Node(OpSet.QuantizeLinear, new QuantizeAttrs(axis), x, CastTo(s, x.Spec.DType), z);
            });
            Map("DequantizeLinear", _ =>
            {
                var q = In(0);
                if (q.Spec.DType is not (DType.Int8 or DType.UInt8 or DType.Int32)) throw Bad($"{q.Spec.DType.Name()} inputs are not supported (int8, uint8, int32)");
                var (s, z, axis) = QParams(q, Has(2) ? In(2) : null, q.Spec.DType);
                return Node(OpSet.DequantizeLinear, new QuantizeAttrs(axis), q, Float(s), z);
            });
            Map("DynamicQuantizeLinear", _ => DynamicQuantize());
            Map("MatMulInteger", _ => CastTo(IntegerMatMul(In(0), Has(2) ? In(2) : null, In(1), Has(3) ? In(3) : null), DType.Int32));
            Map("ConvInteger", _ => CastTo(IntegerConv(In(0), Has(2) ? In(2) : null, In(1), Has(3) ? In(3) : null, null), DType.Int32));
            Map("QLinearMatMul", _ =>
            {
                var acc = IntegerMatMul(In(0), In(2), In(3), In(5));
                // Per-row scales of a ([M] for a 2-D operand) broadcast as a column; b's per-column scales broadcast as they are.
                var aScale = In(1);
                if (aScale.Spec.Shape.Rank == 1 && aScale.Spec.Shape.NumElements > 1) aScale = Reshape(aScale, [aScale.Spec.Shape[0], 1]);
                return Requantize(acc, aScale, In(4), In(6), In(7), -1);
            });
            Map("QLinearConv", _ =>
            {
                var acc = IntegerConv(In(0), In(2), In(3), In(5), Has(8) ? In(8) : null);
                return Requantize(acc, In(1), In(4), In(6), In(7), 1);
            });
        }

        /// <summary>Scale (operand 1) and zero point (or zeros of <paramref name="zeroDType"/>) with the axis: a one-element 1-D scale
        /// on an axis of another size is taken as per-tensor, as ONNX Runtime does.</summary>
        private (Value Scale, Value Zero, int Axis) QParams(Value x, Value? zero, DType zeroDType)
        {
            var s = In(1);
            var z = zero ?? Filled(s.Spec.Shape.ToArray(), 0, zeroDType);
            if (s.Spec.Shape != z.Spec.Shape) throw Bad($"scale {s.Spec.Shape} and zero point {z.Spec.Shape} differ in shape");
            if (s.Spec.Shape.Rank == 0) return (s, z, 0);
            if (s.Spec.Shape.Rank != 1) throw Bad($"scale of rank {s.Spec.Shape.Rank} (blocked quantization) is not supported");
            int axis = Axis(Int("axis", 1), x.Spec.Shape.Rank);
            if (s.Spec.Shape[0] == 1 && x.Spec.Shape[axis] != 1) return (Reshape(s, []), Reshape(z, []), 0);
            return (s, z, axis);
        }

        /// <summary>ONNX DynamicQuantizeLinear: uint8 with the range [min(x, 0), max(x, 0)] mapped onto [0, 255]. Outputs y, the
        /// scale and the zero point. A constant zero input takes scale 1 (as ONNX Runtime) instead of dividing by zero.</summary>
        private Value DynamicQuantize()
        {
            var x = In(0);
            if (x.Spec.DType != DType.Float32) throw Bad($"{x.Spec.DType.Name()} inputs are not supported (float32)");
            var all = new ReduceAttrs([], false);
            var lo = Bin(OpSet.Minimum, Node(OpSet.Min, all, x), Sc(0, x));
            var hi = Bin(OpSet.Maximum, Node(OpSet.Max, all, x), Sc(0, x));
            var range = Bin(OpSet.Sub, hi, lo);
            var scale = Select(Bin(OpSet.Equal, range, Sc(0, range)), Sc(1, range), Bin(OpSet.Div, range, Sc(255, range)));
            var zeroPoint = Bin(OpSet.Sub, Sc(0, lo), Bin(OpSet.Div, lo, scale));
            var zp = CastTo(Un(OpSet.Round, Node(OpSet.Clamp, new ClampAttrs(0, 255), zeroPoint)), DType.UInt8);
            _more.Add(scale);
            _more.Add(zp);
            return Node(OpSet.QuantizeLinear, new QuantizeAttrs(0), x, scale, zp);
        }

        /// <summary>(a − aZero) @ (b − bZero) of 8-bit operands, exactly, as float64. aZero is a scalar or per row (1-D [M], or
        /// N-D with a trailing 1), bZero a scalar or per column.</summary>
        private Value IntegerMatMul(Value a, Value? aZero, Value b, Value? bZero)
        {
            var af = Shifted(a, aZero, rowVector: true);
            var bf = Shifted(b, bZero, rowVector: false);
            return MatMul(af, bf);
        }

        /// <summary><paramref name="x"/> − zero point in float64 (a 1-D per-row zero point of a matrix becomes a column).</summary>
        private Value Shifted(Value x, Value? zero, bool rowVector)
        {
            if (x.Spec.DType is not (DType.Int8 or DType.UInt8)) throw Bad($"{x.Spec.DType.Name()} operands are not supported (int8, uint8)");
            var xf = CastTo(x, DType.Float64);
            if (zero == null) return xf;
            if (zero.Spec.DType != x.Spec.DType) throw Bad($"zero point is {zero.Spec.DType.Name()}, its operand {x.Spec.DType.Name()}");
            var zf = CastTo(zero, DType.Float64);
            if (rowVector && zf.Spec.Shape.Rank == 1 && zf.Spec.Shape.NumElements > 1) zf = Reshape(zf, [zf.Spec.Shape[0], 1]);
            return Bin(OpSet.Sub, xf, zf);
        }

        /// <summary>The node's convolution of 8-bit x and w shifted by their zero points (scalar for x; scalar or per output
        /// channel for w), plus an int32 bias, exactly, as float64. Shifted values lie in [−255, 255]; padding the shifted input
        /// with zeros pads x with its zero point, as ONNX's ConvInteger does. The weight is split as w = 16·round(w/16) + rest
        /// so that every float32 product is at most 4080 and every partial sum exact (see <see cref="ExactConvTerms"/>).</summary>
        private Value IntegerConv(Value x, Value? xZero, Value w, Value? wZero, Value? bias)
        {
            if (x.Spec.DType is not (DType.Int8 or DType.UInt8) || w.Spec.DType is not (DType.Int8 or DType.UInt8))
                throw Bad($"{x.Spec.DType.Name()} input and {w.Spec.DType.Name()} weight are not supported (int8, uint8)");
            var wd = w.Spec.Shape.ToArray();
            long terms = wd.Skip(1).Aggregate(1L, (p, d) => p * d);
            if (terms > ExactConvTerms) throw Bad($"a reduction over {terms} terms is not supported (at most {ExactConvTerms} are summed exactly)");
            Value xs = CastTo(x, DType.Float32), ws = CastTo(w, DType.Float32);
            if (xZero != null)
            {
                if (xZero.Spec.Shape.NumElements != 1) throw Bad("x_zero_point must be a scalar");
                xs = Bin(OpSet.Sub, xs, CastTo(Reshape(xZero, []), DType.Float32));
            }
            if (wZero != null)
            {
                var zf = CastTo(wZero, DType.Float32);
                if (zf.Spec.Shape.NumElements > 1 || zf.Spec.Shape.Rank == 1 && wd[0] == 1)
                    zf = Reshape(zf, [wd[0], .. Enumerable.Repeat(1L, wd.Length - 1)]);
                else zf = Reshape(zf, []);
                ws = Bin(OpSet.Sub, ws, zf);
            }
            var high = Un(OpSet.Round, Bin(OpSet.Div, ws, Sc(16, ws)));
            var low = Bin(OpSet.Sub, ws, Bin(OpSet.Mul, high, Sc(16, high)));
            var accHigh = CastTo(Conv(xs, high, null), DType.Float64);
            var acc = Bin(OpSet.Add, Bin(OpSet.Mul, accHigh, Sc(16, accHigh)), CastTo(Conv(xs, low, null), DType.Float64));
            if (bias == null) return acc;
            if (bias.Spec.DType != DType.Int32) throw Bad($"{bias.Spec.DType.Name()} bias is not supported (int32)");
            var rank = acc.Spec.Shape.Rank;
            return Bin(OpSet.Add, acc, CastTo(Reshape(bias, [bias.Spec.Shape.NumElements, .. Enumerable.Repeat(1L, rank - 2)]), DType.Float64));
        }

        /// <summary>The QLinear* output: <c>saturate(round(float(acc) · (aScale·bScale / yScale)) + yZero)</c>, the int32
        /// accumulator taken to float32 and multiplied in float32 as ONNX Runtime does; per-channel scales of b broadcast
        /// along <paramref name="channelAxis"/> of the accumulator (−1: they already broadcast).</summary>
        private Value Requantize(Value acc, Value aScale, Value bScale, Value yScale, Value yZero, int channelAxis)
        {
            if (yZero.Spec.DType is not (DType.Int8 or DType.UInt8)) throw Bad($"{yZero.Spec.DType.Name()} output is not supported (int8, uint8)");
            if (yScale.Spec.Shape.NumElements != 1 || yZero.Spec.Shape.NumElements != 1) throw Bad("y_scale and y_zero_point must be scalars");
            // The exact integer rounded once to float32, as ONNX Runtime converts its int32 accumulator.
            var accf = CastTo(acc, DType.Float32);
            int rank = accf.Spec.Shape.Rank;
            if (channelAxis >= 0 && bScale.Spec.Shape.NumElements > 1)
            {
                var d = Enumerable.Repeat(1L, rank).ToArray();
                d[channelAxis] = bScale.Spec.Shape.NumElements;
                bScale = Reshape(bScale, d);
            }
            var multiplier = Bin(OpSet.Div, Bin(OpSet.Mul, Float(aScale), Float(bScale)), Reshape(Float(yScale), []));
            var v = Bin(OpSet.Mul, accf, multiplier);
            return Node(OpSet.QuantizeLinear, new QuantizeAttrs(0), v, Sc(1, v), Reshape(yZero, []));
        }
    }
}
