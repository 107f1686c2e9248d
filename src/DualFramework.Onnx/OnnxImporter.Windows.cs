using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>
        /// The (begin, end) padding of each spatial axis of a windowed op (conv / pool) from <c>pads</c> or <c>auto_pad</c>:
        /// SAME_UPPER / SAME_LOWER pad so that the output size is ceil(input / stride), the odd element going to the end
        /// (UPPER) or the beginning (LOWER).
        /// </summary>
        private (long[] Begin, long[] End) Pads(long[] inSize, long[] span, long[] stride)
        {
            int sp = inSize.Length;
            var auto = Str("auto_pad", "NOTSET");
            switch (auto)
            {
                case "NOTSET" or "":
                    {
                        var p = Ints("pads") ?? new long[2 * sp];
                        if (p.Length != 2 * sp) throw Bad($"pads needs {2 * sp} entries, got {p.Length}");
                        if (p.Any(v => v < 0)) throw Bad($"negative pads [{string.Join(", ", p)}] are not supported");
                        return (p[..sp], p[sp..]);
                    }
                case "VALID": return (new long[sp], new long[sp]);
                case "SAME_UPPER" or "SAME_LOWER":
                    {
                        var b = new long[sp];
                        var e = new long[sp];
                        for (int i = 0; i < sp; i++)
                        {
                            long outSize = (inSize[i] + stride[i] - 1) / stride[i];
                            long total = Math.Max((outSize - 1) * stride[i] + span[i] - inSize[i], 0);
                            b[i] = auto == "SAME_UPPER" ? total / 2 : total - total / 2;
                            e[i] = total - b[i];
                        }
                        return (b, e);
                    }
                default: throw Bad($"auto_pad '{auto}' is not supported");
            }
        }

        /// <summary>Pads the spatial axes (2, 3, ...) of <paramref name="x"/> with <paramref name="fill"/> by concatenating constant blocks.</summary>
        private Value PadSpatial(Value x, long[] begin, long[] end, double fill)
        {
            for (int i = 0; i < begin.Length; i++)
            {
                int axis = 2 + i;
                var parts = new List<Value>();
                if (begin[i] > 0) parts.Add(Block(x, axis, begin[i], fill));
                parts.Add(x);
                if (end[i] > 0) parts.Add(Block(x, axis, end[i], fill));
                if (parts.Count > 1) x = Node(OpSet.Concat, new ConcatAttrs(axis), parts.ToArray());
            }
            return x;
        }

        private Value Block(Value like, int axis, long size, double fill)
        {
            var d = like.Spec.Shape.ToArray();
            d[axis] = size;
            return Filled(d, fill, like.Spec.DType);
        }

        /// <summary>A constant of shape <paramref name="dims"/> with every element <paramref name="fill"/>.</summary>
        private Value Filled(long[] dims, double fill, DType dtype)
        {
            var one = OnnxTypes.ScalarBytes(fill, dtype);
            long n = Prod(dims);
            var data = new byte[n * one.Length];
            for (long k = 0; k < n; k++) one.CopyTo(data, k * one.Length);
            return Graph.AddConstant(new TensorSpec(new Shape(dims), dtype), data);
        }

        /// <summary>The lowest value of <paramref name="dtype"/> (the neutral padding of max pooling).</summary>
        private static double Lowest(DType dtype) => dtype switch
        {
            DType.UInt8 => 0,
            DType.Int8 => sbyte.MinValue,
            DType.Int32 => int.MinValue,
            DType.Int64 => long.MinValue,
            _ => double.NegativeInfinity,
        };
    }
}
