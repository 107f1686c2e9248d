using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the pool family (<c>OpSet.Pool.cs</c>).</summary>
    private static void AddPool(LoweringTable t)
    {
        t.Add(OpSet.MaxPool2d, (c, a) =>
        {
            var (ins, cd) = Widened(c);
            var x = c.InSpec(0).Shape;
            var window = new[] { OnnxAttr.Ints("kernel_shape", a.Kernel), OnnxAttr.Ints("strides", a.Stride), OnnxAttr.Ints("pads", Pads(a.Padding)),
                OnnxAttr.Ints("dilations", a.Dilation), OnnxAttr.Int("ceil_mode", a.CeilMode ? 1 : 0) };
            // ONNX Runtime's MaxPool with an Indices output runs a generic loop (~20× its vectorised values-only kernel), so the
            // indices are asked for only when read, and for windows that tile the input they are found by an ArgMax instead.
            bool tiles = a.SpatialRank == 2 && a.Kernel.SequenceEqual(a.Stride) && a.Padding.All(p => p == 0) && a.Dilation.All(d => d == 1)
                         && x[2] % a.Kernel[0] == 0 && x[3] % a.Kernel[1] == 0;
            if (!c.IsUsed(1) || tiles)
            {
                Finish(c, 0, c.Op("MaxPool", [ins[0]], window), cd);
                if (c.IsUsed(1)) c.Set(1, TiledMaxPoolIndices(c, ins[0], x, a.Kernel[0], a.Kernel[1]));
                return;
            }
            string y = c.Unique("_pool"), flat = c.Unique("_poolidx");
            c.Emit("MaxPool", [ins[0]], [y, flat], [.. window, OnnxAttr.Int("storage_order", 0)]);
            Finish(c, 0, y, cd);
            // ONNX indices are flat over the whole N·C·*S tensor; ours are per spatial volume V: (n·C + c)·V + i ≡ i mod V.
            c.Result(1, "Mod", [flat, c.Const(DType.Int64, [], BitConverter.GetBytes(PoolVolume(x.Dims[2..].ToArray())))]);
        });
        // The inverse of the plane indices above: ONNX's MaxUnpool wants them flat over the whole tensor, so each plane's
        // offset (plane number × plane size) is added back. The batch may be symbolic, so the plane numbers come from a Range.
        t.Add(OpSet.MaxUnpool2d, (c, a) =>
        {
            var (ins, cd) = Widened(c, 1);
            int d = a.OutSize.Length;
            long channels = c.InSpec(0).Shape[1], plane = PoolVolume(a.OutSize);
            var lead = c.Op("Slice", c.Op("Shape", c.In(1)), c.Ints(0), c.Ints(2));
            var planes = c.Op("Range", c.Scalar(0, DType.Int64), c.Op("ReduceProd", [lead], OnnxAttr.Int("keepdims", 0)), c.Scalar(1, DType.Int64));
            var offsets = c.Op("Reshape", c.Op("Mul", planes, c.Scalar(plane, DType.Int64)), c.Ints([-1, channels, .. Enumerable.Repeat(1L, d)]));
            var outShape = c.Op("Concat", [lead, c.Ints(a.OutSize)], OnnxAttr.Int("axis", 0));
            var y = c.Op("MaxUnpool", [ins[0], c.Op("Add", c.In(1), offsets), outShape], OnnxAttr.Ints("kernel_shape", Enumerable.Repeat(1L, d).ToArray()));
            Finish(c, 0, y, cd);
        });
        t.Add(OpSet.AvgPool2d, (c, a) =>
        {
            var (ins, cd) = Widened(c);
            var y = a.CeilMode ? CeilAvgPool(c, ins[0], a, cd)
                : c.Op("AveragePool", ins, OnnxAttr.Ints("kernel_shape", a.Kernel), OnnxAttr.Ints("strides", a.Stride), OnnxAttr.Ints("pads", Pads(a.Padding)),
                    OnnxAttr.Int("count_include_pad", a.CountIncludePad ? 1 : 0));
            Finish(c, 0, y, cd);
        });
        // Evenly dividing windows are a plain AveragePool; otherwise y = Ph·x·Pwᵀ per plane with constant averaging matrices.
        t.Add(OpSet.AdaptiveAvgPool2d, (c, a) =>
        {
            var (ins, cd) = Widened(c);
            var x = c.InSpec(0).Shape;
            long h = x[2], w = x[3];
            string y;
            if (h % a.OutH == 0 && w % a.OutW == 0)
            {
                long[] k = [h / a.OutH, w / a.OutW];
                y = c.Op("AveragePool", ins, OnnxAttr.Ints("kernel_shape", k), OnnxAttr.Ints("strides", k));
            }
            else
            {
                var ph = c.Doubles(AdaptiveMatrix(a.OutH, h), [a.OutH, h], cd);
                var pwT = c.Doubles(Transposed(AdaptiveMatrix(a.OutW, w), a.OutW, w), [w, a.OutW], cd);
                y = c.Op("MatMul", c.Op("MatMul", ph, ins[0]), pwT);
            }
            Finish(c, 0, y, cd);
        });
    }

    /// <summary>
    /// Max pooling's plane indices for windows that tile the input (kernel = stride, no padding or dilation): each window's
    /// taps are made the last axis (a reshape and one transpose), ArgMax picks the first maximum in row-major window order —
    /// the tap libtorch picks on ties — and a little arithmetic turns it into a plane offset from the window's origin.
    /// </summary>
    private static string TiledMaxPoolIndices(LoweringContext c, string x, Shape shape, long kh, long kw)
    {
        long c_ = shape[1], w = shape[3], oh = shape[2] / kh, ow = w / kw;
        var rows = c.Op("Reshape", x, c.Ints(-1, kh, ow, kw));
        var taps = c.Op("Reshape", c.Op("Transpose", [rows], OnnxAttr.Ints("perm", new[] { 0, 2, 1, 3 })), c.Ints(-1, kh * kw));
        var first = c.Op("ArgMax", [taps], OnnxAttr.Int("axis", 1), OnnxAttr.Int("keepdims", 0), OnnxAttr.Int("select_last_index", 0));
        var origin = new long[oh * ow];
        for (long i = 0; i < oh; i++)
            for (long j = 0; j < ow; j++) origin[i * ow + j] = i * kh * w + j * kw;
        // Tap t = r·kw + q sits r rows and q columns into its window: plane offset r·W + q = t + ⌊t / kw⌋·(W − kw).
        // (Arithmetic, not a Gather from a table: ONNX Runtime's Gather copies element by element, several times slower.)
        var within = kw == w ? first : c.Op("Add", first, c.Op("Mul", c.Op("Div", first, c.Scalar(kw, DType.Int64)), c.Scalar(w - kw, DType.Int64)));
        var offset = c.Op("Reshape", within, c.Ints(-1, c_, oh, ow));
        return c.Op("Add", offset, c.IntTensor([oh, ow], origin));
    }

    /// <summary>
    /// Average pooling in ceil mode without ONNX's ceil_mode: ONNX Runtime's float AveragePool before opset 19 divides the
    /// last, partial window by the whole kernel and runs it over cells past the padded input. The input is zero-padded far
    /// enough for every window to fit, pooled in floor mode (window sum / kernel size), and each window rescaled by
    /// kernel size / its divisor (a constant table: PyTorch's count, clipped to the input or, with count_include_pad, to
    /// the padded input).
    /// </summary>
    private static string CeilAvgPool(LoweringContext c, string x, AvgPool2dAttrs a, DType cd)
    {
        int d = a.SpatialRank;
        var inSize = c.InSpec(0).Shape.Dims[2..].ToArray();
        var outSize = c.OutSpec(0).Shape.Dims[2..].ToArray();
        var pads = new long[2 * (d + 2)];
        for (int i = 0; i < d; i++)
        {
            pads[2 + i] = a.Padding[i];
            pads[d + 4 + i] = Math.Max(a.Padding[i], (outSize[i] - 1) * a.Stride[i] + a.Kernel[i] - inSize[i] - a.Padding[i]);
        }
        var padded = c.Op("Pad", [x, c.Ints(pads), c.Scalar(0, cd)], OnnxAttr.String("mode", "constant"));
        var mean = c.Op("AveragePool", [padded], OnnxAttr.Ints("kernel_shape", a.Kernel), OnnxAttr.Ints("strides", a.Stride));
        long kernel = PoolVolume(a.Kernel);
        var scale = new double[PoolVolume(outSize)];
        for (long flat = 0; flat < scale.Length; flat++)
        {
            double count = 1;
            long rest = flat;
            for (int i = d - 1; i >= 0; i--)
            {
                long start = rest % outSize[i] * a.Stride[i] - a.Padding[i], end = start + a.Kernel[i];
                rest /= outSize[i];
                count *= a.CountIncludePad ? Math.Min(end, inSize[i] + a.Padding[i]) - start : Math.Min(end, inSize[i]) - Math.Max(start, 0);
            }
            scale[flat] = kernel / count;
        }
        return c.Op("Mul", mean, c.Doubles(scale, outSize, cd));
    }

    private static long PoolVolume(long[] sizes) => sizes.Aggregate(1L, (a, v) => a * v);

    /// <summary>The [outSize, inSize] matrix averaging PyTorch's adaptive windows.</summary>
    private static double[] AdaptiveMatrix(long outSize, long inSize)
    {
        var m = new double[outSize * inSize];
        for (long i = 0; i < outSize; i++)
        {
            long start = i * inSize / outSize, end = ((i + 1) * inSize + outSize - 1) / outSize;
            for (long j = start; j < end; j++) m[i * inSize + j] = 1.0 / (end - start);
        }
        return m;
    }

    private static double[] Transposed(double[] m, long rows, long cols)
    {
        var t = new double[m.Length];
        for (long i = 0; i < rows; i++)
            for (long j = 0; j < cols; j++)
                t[j * rows + i] = m[i * cols + j];
        return t;
    }
}
