using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>
        /// 1-D to 3-D max / average pooling (1-D as 2-D with a height of 1) and max unpooling. Pads our pooling ops take directly (equal at
        /// both ends, at most half the kernel) go to the op; others (auto_pad SAME_*, asymmetric or large pads) are
        /// applied by concatenating constant blocks (−∞ for max; for averages zeros, with the divisor from pooling a padded
        /// mask of ones unless count_include_pad).
        /// </summary>
        private void AddPool()
        {
            Map("MaxPool", _ => MaxPool());
            Map("AveragePool", _ => AveragePool());
            Map("MaxUnpool", _ => MaxUnpool());
            Map(["GlobalAveragePool", "GlobalMaxPool"], op =>
            {
                var x = Float(In(0));
                int rank = x.Spec.Shape.Rank;
                if (rank < 3) throw Bad($"input must have rank ≥ 3 ([N, C, ...]), got {x.Spec.Shape}");
                if (op == "GlobalAveragePool" && rank == 4) return Node(OpSet.AdaptiveAvgPool2d, new AdaptivePool2dAttrs(1, 1), x);
                var attrs = new ReduceAttrs(Enumerable.Range(2, rank - 2).ToArray(), true);
                return Node(op == "GlobalMaxPool" ? OpSet.Max : OpSet.Mean, attrs, x);
            });
        }

        // Kernel, stride and input as 2-D or 3-D (1-D pooling gets a unit height), and the original spatial rank.
        private (Value X, long[] K, long[] Stride, long[] Dil, int Spatial) PoolInput(bool dilations)
        {
            var x = In(0);
            int sp = x.Spec.Shape.Rank - 2;
            if (sp is not (1 or 2 or 3)) throw Bad($"only 1-D to 3-D pooling is supported, the input has rank {x.Spec.Shape.Rank}");
            var k = Ints("kernel_shape") ?? throw Bad("kernel_shape is required");
            long[] stride = Fill(Ints("strides"), sp, 1), dil = dilations ? Fill(Ints("dilations"), sp, 1) : Fill(null, sp, 1);
            if (k.Length != sp || stride.Length != sp || dil.Length != sp) throw Bad($"kernel_shape, strides and dilations need {sp} entries");
            if (sp != 1) return (x, k, stride, dil, sp);
            var d = x.Spec.Shape.ToArray();
            return (Reshape(x, [d[0], d[1], 1, d[2]]), [1, k[0]], [1, stride[0]], [1, dil[0]], 1);
        }

        private (long[] Begin, long[] End) PoolPads(Value x2d, long[] k, long[] stride, long[] dil, int spatial)
        {
            var inSize = x2d.Spec.Shape.ToArray()[2..];
            var span = Enumerable.Range(0, k.Length).Select(i => dil[i] * (k[i] - 1) + 1).ToArray();
            if (spatial != 1) return Pads(inSize, span, stride);
            var (b, e) = Pads(inSize[1..], span[1..], stride[1..]);
            return ([0, b[0]], [0, e[0]]);
        }

        private static bool OpPads((long[] Begin, long[] End) p, long[] k) =>
            p.Begin.SequenceEqual(p.End) && p.Begin.Select((v, i) => v <= k[i] / 2).All(ok => ok);

        private Value Unpool1d(Value y, int spatial) =>
            spatial != 1 ? y : Reshape(y, [y.Spec.Shape[0], y.Spec.Shape[1], y.Spec.Shape[3]]);

        private Value MaxPool()
        {
            var (x, k, stride, dil, spatial) = PoolInput(dilations: true);
            bool ceil = Int("ceil_mode", 0) != 0;
            long order = Int("storage_order", 0);
            var dtype = x.Spec.DType;
            if (dtype is DType.Int64 or DType.Bool) throw Bad($"{dtype.Name()} inputs are not supported");
            // Our pooling is floating: small integers are pooled exactly in float64.
            var xf = dtype.IsFloating() ? x : CastTo(x, DType.Float64);
            var pads = PoolPads(xf, k, stride, dil, spatial);
            bool direct = OpPads(pads, k);
            if (!direct && ceil) throw Bad("ceil_mode=1 with asymmetric pads or pads larger than half the kernel is not supported");
            var input = direct ? xf : PadSpatial(xf, pads.Begin, pads.End, Lowest(DType.Float64));
            var ys = Nodes(OpSet.MaxPool2d, new MaxPool2dAttrs(k, stride, direct ? pads.Begin : new long[k.Length], dil, ceil), input);
            bool wantIdx = _n.Output.Count > 1 && _n.Output[1] != "" && needed.Contains(_n.Output[1]);
            if (wantIdx) _more.Add(Unpool1d(PoolIndices(ys[1], xf, input, direct ? null : pads.Begin, order), spatial));
            return Unpool1d(CastTo(ys[0], dtype), spatial);
        }

        /// <summary>
        /// ONNX MaxPool indices: positions in the whole input tensor, row-major over its spatial axes (storage_order 0:
        /// (n·C + c)·H·W + h·W + w in 2-D) or column-major (1: … + h + w·H). Our op returns the row-major position within
        /// the volume it pooled (padded by <paramref name="padBegin"/> when not null), mapped back through a constant table.
        /// </summary>
        private Value PoolIndices(Value planeIdx, Value x, Value pooled, long[]? padBegin, long order)
        {
            var d = x.Spec.Shape.ToArray();
            long n = d[0], c = d[1];
            long[] size = d[2..], padded = pooled.Spec.Shape.ToArray()[2..];
            long volume = Prod(size);
            if (order is not (0 or 1)) throw Bad($"storage_order {order} is not supported");
            var idx = planeIdx;
            if (padBegin != null || order == 1)
            {
                var table = new long[Prod(padded)];
                for (long flat = 0; flat < table.Length; flat++)
                {
                    // Unravel over the padded volume, clamp into the input, ravel in the requested order.
                    long rest = flat, at = 0, stride = 1;
                    var coord = new long[size.Length];
                    for (int i = size.Length - 1; i >= 0; i--)
                    {
                        coord[i] = Math.Clamp(rest % padded[i] - (padBegin?[i] ?? 0), 0, size[i] - 1);
                        rest /= padded[i];
                    }
                    for (int j = 0; j < size.Length; j++)
                    {
                        int i = order == 0 ? size.Length - 1 - j : j;
                        at += coord[i] * stride;
                        stride *= size[i];
                    }
                    table[flat] = at;
                }
                idx = Node(OpSet.Take, new TakeAttrs(0), ConstLongs(table, table.Length), idx);
            }
            var offsets = new long[n * c];
            for (long i = 0; i < n * c; i++) offsets[i] = i * volume;
            return Bin(OpSet.Add, idx, ConstLongs(offsets, [n, c, .. Enumerable.Repeat(1L, size.Length)]));
        }

        private Value AveragePool()
        {
            var (x, k, stride, _, spatial) = PoolInput(dilations: false);
            Float(x);
            bool ceil = Int("ceil_mode", 0) != 0;
            bool include = Int("count_include_pad", 0) != 0;
            var ones = Enumerable.Repeat(1L, k.Length).ToArray();
            var pads = PoolPads(x, k, stride, ones, spatial);
            if (OpPads(pads, k)) return Unpool1d(Node(OpSet.AvgPool2d, new AvgPool2dAttrs(k, stride, pads.Begin, include, ceil), x), spatial);
            if (ceil) throw Bad("ceil_mode=1 with asymmetric pads or pads larger than half the kernel is not supported");
            var attrs = new AvgPool2dAttrs(k, stride, new long[k.Length], true);
            var sum = Node(OpSet.AvgPool2d, attrs, PadSpatial(x, pads.Begin, pads.End, 0));
            if (include) return Unpool1d(sum, spatial);
            // Divide by the share of real (unpadded) elements in each window.
            var d = x.Spec.Shape.ToArray();
            var mask = Filled([1, 1, .. d[2..]], 1, x.Spec.DType);
            var share = Node(OpSet.AvgPool2d, attrs, PadSpatial(mask, pads.Begin, pads.End, 0));
            return Unpool1d(Bin(OpSet.Div, sum, share), spatial);
        }

        /// <summary>
        /// MaxUnpool: ONNX indices are flat over the whole unpooled tensor of the default size
        /// <c>(in − 1)·stride − pads + kernel</c>, so their remainder by its spatial volume is our op's position. A larger
        /// <c>output_shape</c> (the optional third input) adds zeros at the end of each axis, as ONNX's reference.
        /// </summary>
        private Value MaxUnpool()
        {
            var x = Float(In(0));
            var idx = In(1);
            int sp = x.Spec.Shape.Rank - 2;
            if (sp is not (1 or 2 or 3)) throw Bad($"only 1-D to 3-D unpooling is supported, the input has rank {x.Spec.Shape.Rank}");
            if (!idx.Spec.DType.IsInteger()) throw Bad($"{idx.Spec.DType.Name()} indices are not supported");
            var k = Ints("kernel_shape") ?? throw Bad("kernel_shape is required");
            long[] stride = Fill(Ints("strides"), sp, 1), pads = Fill(Ints("pads"), 2 * sp, 0);
            if (k.Length != sp || stride.Length != sp || pads.Length != 2 * sp) throw Bad($"kernel_shape and strides need {sp} entries, pads {2 * sp}");
            var inSize = x.Spec.Shape.ToArray()[2..];
            var size = Enumerable.Range(0, sp).Select(i => (inSize[i] - 1) * stride[i] - pads[i] - pads[sp + i] + k[i]).ToArray();
            var y = Node(OpSet.MaxUnpool2d, new MaxUnpool2dAttrs(size), x, Bin(OpSet.Remainder, CastTo(idx, DType.Int64), Scalar(Prod(size), DType.Int64)));
            if (!Has(2)) return y;
            var os = ConstInts(2);
            var want = os.Length == sp + 2 ? os[2..] : os.Length == sp ? os : throw Bad($"output_shape needs {sp + 2} entries, got {os.Length}");
            if (want.Where((v, i) => v < size[i]).Any())
                throw Bad($"output_shape [{string.Join(", ", want)}] is smaller than the default unpooled size [{string.Join(", ", size)}], which is not supported");
            if (want.SequenceEqual(size)) return y;
            var end = new long[sp + 2];
            for (int i = 0; i < sp; i++) end[2 + i] = want[i] - size[i];
            return Node(OpSet.Pad, new PadAttrs(new long[sp + 2], end, PadMode.Constant, 0), y);
        }
    }
}
