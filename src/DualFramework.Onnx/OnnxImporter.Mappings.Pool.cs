using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>
        /// 1-D and 2-D max / average pooling (1-D as 2-D with a height of 1). Pads our pooling ops take directly (equal at
        /// both ends, at most half the kernel) go to the op; others (auto_pad SAME_*, asymmetric or large pads) are
        /// applied by concatenating constant blocks (−∞ for max; for averages zeros, with the divisor from pooling a padded
        /// mask of ones unless count_include_pad).
        /// </summary>
        private void AddPool()
        {
            Map("MaxPool", _ => MaxPool());
            Map("AveragePool", _ => AveragePool());
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

        // Kernel, stride and input as 2-D (1-D pooling gets a unit height), and the original spatial rank.
        private (Value X, long[] K, long[] Stride, long[] Dil, int Spatial) PoolInput(bool dilations)
        {
            var x = In(0);
            int sp = x.Spec.Shape.Rank - 2;
            if (sp is not (1 or 2)) throw Bad($"only 1-D and 2-D pooling is supported, the input has rank {x.Spec.Shape.Rank}");
            var k = Ints("kernel_shape") ?? throw Bad("kernel_shape is required");
            long[] stride = Fill(Ints("strides"), sp, 1), dil = dilations ? Fill(Ints("dilations"), sp, 1) : Fill(null, sp, 1);
            if (k.Length != sp || stride.Length != sp || dil.Length != sp) throw Bad($"kernel_shape, strides and dilations need {sp} entries");
            if (sp == 2) return (x, k, stride, dil, 2);
            var d = x.Spec.Shape.ToArray();
            return (Reshape(x, [d[0], d[1], 1, d[2]]), [1, k[0]], [1, stride[0]], [1, dil[0]], 1);
        }

        private (long[] Begin, long[] End) PoolPads(Value x2d, long[] k, long[] stride, long[] dil, int spatial)
        {
            var inSize = x2d.Spec.Shape.ToArray()[2..];
            var span = Enumerable.Range(0, 2).Select(i => dil[i] * (k[i] - 1) + 1).ToArray();
            if (spatial == 2) return Pads(inSize, span, stride);
            var (b, e) = Pads(inSize[1..], span[1..], stride[1..]);
            return ([0, b[0]], [0, e[0]]);
        }

        private static bool OpPads((long[] Begin, long[] End) p, long[] k) =>
            p.Begin.SequenceEqual(p.End) && p.Begin.Select((v, i) => v <= k[i] / 2).All(ok => ok);

        private Value Unpool1d(Value y, int spatial) =>
            spatial == 2 ? y : Reshape(y, [y.Spec.Shape[0], y.Spec.Shape[1], y.Spec.Shape[3]]);

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
            var ys = Nodes(OpSet.MaxPool2d, new MaxPool2dAttrs(k, stride, direct ? pads.Begin : [0, 0], dil, ceil), input);
            bool wantIdx = _n.Output.Count > 1 && _n.Output[1] != "" && needed.Contains(_n.Output[1]);
            if (wantIdx) _more.Add(Unpool1d(PoolIndices(ys[1], xf, input, direct ? null : pads.Begin, order), spatial));
            return Unpool1d(CastTo(ys[0], dtype), spatial);
        }

        /// <summary>
        /// ONNX MaxPool indices: positions in the whole input tensor, (n·C + c)·H·W + h·W + w (storage_order 0) or
        /// (n·C + c)·H·W + h + w·H (1). Our op returns h'·W' + w' within the plane it pooled (padded by
        /// <paramref name="padBegin"/> when not null), mapped back through a constant table.
        /// </summary>
        private Value PoolIndices(Value planeIdx, Value x, Value pooled, long[]? padBegin, long order)
        {
            var d = x.Spec.Shape.ToArray();
            long n = d[0], c = d[1], h = d[2], w = d[3];
            if (order is not (0 or 1)) throw Bad($"storage_order {order} is not supported");
            var idx = planeIdx;
            if (padBegin != null || order == 1)
            {
                long ph = padBegin?[0] ?? 0, pw = padBegin?[1] ?? 0, hp = pooled.Spec.Shape[2], wp = pooled.Spec.Shape[3];
                var table = new long[hp * wp];
                for (long i = 0; i < hp; i++)
                    for (long j = 0; j < wp; j++)
                    {
                        long hi = Math.Clamp(i - ph, 0, h - 1), wj = Math.Clamp(j - pw, 0, w - 1);
                        table[i * wp + j] = order == 0 ? hi * w + wj : hi + wj * h;
                    }
                idx = Node(OpSet.Take, new TakeAttrs(0), ConstLongs(table, table.Length), idx);
            }
            var offsets = new long[n * c];
            for (long i = 0; i < n * c; i++) offsets[i] = i * h * w;
            return Bin(OpSet.Add, idx, ConstLongs(offsets, n, c, 1, 1));
        }

        private Value AveragePool()
        {
            var (x, k, stride, _, spatial) = PoolInput(dilations: false);
            Float(x);
            if (Int("ceil_mode", 0) != 0) throw Bad("ceil_mode=1 is not supported");
            bool include = Int("count_include_pad", 0) != 0;
            var pads = PoolPads(x, k, stride, [1, 1], spatial);
            if (OpPads(pads, k)) return Unpool1d(Node(OpSet.AvgPool2d, new AvgPool2dAttrs(k, stride, pads.Begin, include), x), spatial);
            var attrs = new AvgPool2dAttrs(k, stride, [0, 0], true);
            var sum = Node(OpSet.AvgPool2d, attrs, PadSpatial(x, pads.Begin, pads.End, 0));
            if (include) return Unpool1d(sum, spatial);
            // Divide by the share of real (unpadded) elements in each window.
            var d = x.Spec.Shape.ToArray();
            var ones = Filled([1, 1, d[2], d[3]], 1, x.Spec.DType);
            var share = Node(OpSet.AvgPool2d, attrs, PadSpatial(ones, pads.Begin, pads.End, 0));
            return Unpool1d(Bin(OpSet.Div, sum, share), spatial);
        }
    }
}
