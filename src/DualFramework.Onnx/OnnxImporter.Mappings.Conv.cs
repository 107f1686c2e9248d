using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>Conv and ConvTranspose on the op set's conv family.</summary>
        private void AddConv()
        {
            Map("Conv", _ => Conv(In(0), In(1), Has(2) ? In(2) : null));
            Map("ConvTranspose", _ => ConvTranspose());
        }

        /// <summary>The node's convolution (its attributes: pads, auto_pad, strides, dilations, group) applied to the given operands.</summary>
        private Value Conv(Value x, Value w, Value? bias)
        {
            int sp = x.Spec.Shape.Rank - 2;
            if (sp is not (1 or 2 or 3)) throw Bad($"only 1-D to 3-D convolutions are supported, the input has rank {x.Spec.Shape.Rank}");
            if (w.Spec.Shape.Rank != sp + 2) throw Bad($"weight must have rank {sp + 2}, got {w.Spec.Shape}");
            long[] stride = Fill(Ints("strides"), sp, 1), dil = Fill(Ints("dilations"), sp, 1);
            if (stride.Length != sp || dil.Length != sp) throw Bad($"strides and dilations need {sp} entries");
            var span = Enumerable.Range(0, sp).Select(i => dil[i] * (w.Spec.Shape[2 + i] - 1) + 1).ToArray();
            var (b, e) = Pads(x.Spec.Shape.ToArray()[2..], span, stride);
            // Our conv pads both ends equally: other pads are applied as explicit zeros.
            bool sym = b.SequenceEqual(e);
            var input = sym ? x : PadSpatial(x, b, e, 0);
            var attrs = new ConvAttrs(stride, sym ? b : new long[sp], dil, Int("group", 1));
            return bias != null ? Node(OpSet.Conv, attrs, input, w, bias) : Node(OpSet.Conv, attrs, input, w);
        }

        private Value ConvTranspose()
        {
            var x = Float(In(0));
            int sp = x.Spec.Shape.Rank - 2;
            if (sp is not (1 or 2 or 3)) throw Bad($"only 1-D to 3-D transposed convolutions are supported, the input has rank {x.Spec.Shape.Rank}");
            var w = In(1);
            if (w.Spec.Shape.Rank != sp + 2) throw Bad($"weight must have rank {sp + 2}, got {w.Spec.Shape}");
            long[] stride = Fill(Ints("strides"), sp, 1), dil = Fill(Ints("dilations"), sp, 1), outPad = (long[])Fill(Ints("output_padding"), sp, 0).Clone();
            if (stride.Length != sp || dil.Length != sp || outPad.Length != sp) throw Bad($"strides, dilations and output_padding need {sp} entries");
            var k = w.Spec.Shape.ToArray()[2..];
            if (Ints("kernel_shape") is { } ks && !ks.SequenceEqual(k)) throw Bad($"kernel_shape [{string.Join(", ", ks)}] differs from the weight's [{string.Join(", ", k)}]");
            var inSize = x.Spec.Shape.ToArray()[2..];
            // Unpadded output size; pads (given, SAME_* or implied by output_shape) are cropped from it.
            var full = Enumerable.Range(0, sp).Select(i => stride[i] * (inSize[i] - 1) + dil[i] * (k[i] - 1) + 1 + outPad[i]).ToArray();
            long[] b, e;
            var auto = Str("auto_pad", "NOTSET");
            var os = Ints("output_shape");
            if (os != null || auto is "SAME_UPPER" or "SAME_LOWER")
            {
                var want = os == null ? inSize.Select((v, i) => v * stride[i]).ToArray()
                    : os.Length == sp ? os : os.Length == sp + 2 ? os[2..] : throw Bad($"output_shape needs {sp} entries, got {os.Length}");
                b = new long[sp];
                e = new long[sp];
                for (int i = 0; i < sp; i++)
                {
                    long total = full[i] - want[i];
                    if (total < 0)
                    {
                        // Larger than the unpadded output: ONNX pads nothing and the surplus lies at the end, as output_padding.
                        if (outPad[i] - total >= Math.Max(stride[i], dil[i]))
                            throw Bad($"the requested output size [{string.Join(", ", want)}] exceeds the full output [{string.Join(", ", full)}] by more than output_padding allows (below max(stride, dilation)), which is not supported");
                        outPad[i] -= total;
                        full[i] -= total;
                        total = 0;
                    }
                    // ONNX: the odd element is cropped at the end for SAME_UPPER, at the beginning otherwise.
                    b[i] = auto == "SAME_UPPER" ? total / 2 : total - total / 2;
                    e[i] = total - b[i];
                }
            }
            else if (auto is "NOTSET" or "" or "VALID")
            {
                var p = auto == "VALID" ? new long[2 * sp] : Fill(Ints("pads"), 2 * sp, 0);
                if (p.Length != 2 * sp) throw Bad($"pads needs {2 * sp} entries, got {p.Length}");
                if (p.Any(v => v < 0)) throw Bad($"negative pads [{string.Join(", ", p)}] are not supported");
                (b, e) = (p[..sp], p[sp..]);
            }
            else throw Bad($"auto_pad '{auto}' is not supported");
            bool sym = b.SequenceEqual(e);
            var attrs = new ConvTransposeAttrs(stride, sym ? b : new long[sp], outPad, dil, Int("group", 1));
            var y = Has(2) ? Node(OpSet.ConvTranspose, attrs, x, w, In(2)) : Node(OpSet.ConvTranspose, attrs, x, w);
            if (sym) return y;
            var axes = Enumerable.Range(2, sp).ToArray();
            var ends = Enumerable.Range(0, sp).Select(i => full[i] - e[i]).ToArray();
            return Node(OpSet.Slice, new SliceAttrs(axes, b, ends, Enumerable.Repeat(1L, sp).ToArray()), y);
        }
    }
}
