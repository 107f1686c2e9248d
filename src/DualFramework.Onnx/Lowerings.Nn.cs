using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>All operands of the node cast to their compute dtype (half precision and 8-bit ints widened).</summary>
    private static (string[] ins, DType cd) Widened(LoweringContext c, int count = -1)
    {
        var dt = c.InSpec(0).DType;
        var cd = Compute(dt);
        if (count < 0) count = c.InCount;
        return (Enumerable.Range(0, count).Select(i => c.Cast(c.In(i), c.InSpec(i).DType, c.InSpec(i).DType == dt ? cd : c.InSpec(i).DType)).ToArray(), cd);
    }

    private static long[] Pads(long[] p) => [.. p, .. p];

    /// <summary>
    /// Max pooling's plane indices for windows that tile the input (kernel = stride, no padding or dilation): each window's
    /// taps are made the last axis (a reshape and one transpose), ArgMax picks the first maximum in row-major window order —
    /// the tap libtorch picks on ties — and a little arithmetic turns it into a plane offset from the window's origin.
    /// </summary>
    private static string TiledMaxPoolIndices(LoweringContext c, string x, Shape shape, long kh, long kw)
    {
        long c_ = shape[1], w = shape[3], oh = shape[2] / kh, ow = w / kw;
        var rows = c.Op("Reshape", x, c.Ints(-1, kh, ow, kw));
        var taps = c.Op("Reshape", c.Op("Transpose", [rows], A.Ints("perm", new[] { 0, 2, 1, 3 })), c.Ints(-1, kh * kw));
        var first = c.Op("ArgMax", [taps], A.I("axis", 1), A.I("keepdims", 0), A.I("select_last_index", 0));
        var origin = new long[oh * ow];
        for (long i = 0; i < oh; i++)
        for (long j = 0; j < ow; j++) origin[i * ow + j] = i * kh * w + j * kw;
        // Tap t = r·kw + q sits r rows and q columns into its window: plane offset r·W + q = t + ⌊t / kw⌋·(W − kw).
        // (Arithmetic, not a Gather from a table: ONNX Runtime's Gather copies element by element, several times slower.)
        var within = kw == w ? first : c.Op("Add", first, c.Op("Mul", c.Op("Div", first, c.Scalar(kw, DType.Int64)), c.Scalar(w - kw, DType.Int64)));
        var offset = c.Op("Reshape", within, c.Ints(-1, c_, oh, ow));
        return c.Op("Add", offset, c.Const(DType.Int64, [oh, ow], Bytes(origin)));
    }

    private static byte[] Bytes(long[] v) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray();

    private static void AddNn(Action<Op, Action<LoweringContext>, int> add)
    {
        void Add(Op op, Action<LoweringContext> f) => add(op, f, OnnxExportOptions.MinOpset);

        Add(OpSet.MatMul, c =>
        {
            var (ins, cd) = Widened(c);
            Finish(c, 0, c.Op("MatMul", ins), cd);
        });
        // Gemm (transB) for a 2-D input, else MatMul with Wᵀ plus the bias.
        Add(OpSet.Linear, c =>
        {
            var (ins, cd) = Widened(c);
            string y;
            if (c.InSpec(0).Shape.Rank == 2) y = c.Op("Gemm", ins, A.I("transB", 1));
            else
            {
                y = c.Op("MatMul", ins[0], c.Op("Transpose", [ins[1]], A.Ints("perm", new[] { 1, 0 })));
                if (ins.Length == 3) y = c.Op("Add", y, ins[2]);
            }
            Finish(c, 0, y, cd);
        });
        Add(OpSet.Conv, c =>
        {
            var a = c.Attrs<ConvAttrs>();
            var (ins, cd) = Widened(c);
            var y = c.Op("Conv", ins, A.Ints("strides", a.Stride), A.Ints("pads", Pads(a.Padding)), A.Ints("dilations", a.Dilation), A.I("group", a.Groups));
            Finish(c, 0, y, cd);
        });
        Add(OpSet.ConvTranspose, c =>
        {
            var a = c.Attrs<ConvTransposeAttrs>();
            var (ins, cd) = Widened(c);
            var y = c.Op("ConvTranspose", ins, A.Ints("strides", a.Stride), A.Ints("pads", Pads(a.Padding)), A.Ints("dilations", a.Dilation),
                A.I("group", a.Groups), A.Ints("output_padding", a.OutputPadding));
            Finish(c, 0, y, cd);
        });
        Add(OpSet.MaxPool2d, c =>
        {
            var a = c.Attrs<MaxPool2dAttrs>();
            var (ins, cd) = Widened(c);
            var x = c.InSpec(0).Shape;
            var window = new[] { A.Ints("kernel_shape", a.Kernel), A.Ints("strides", a.Stride), A.Ints("pads", Pads(a.Padding)),
                A.Ints("dilations", a.Dilation), A.I("ceil_mode", a.CeilMode ? 1 : 0) };
            // ONNX Runtime's MaxPool with an Indices output runs a generic loop (~20× its vectorised values-only kernel), so the
            // indices are asked for only when read, and for windows that tile the input they are found by an ArgMax instead.
            bool tiles = a.Kernel.SequenceEqual(a.Stride) && a.Padding.All(p => p == 0) && a.Dilation.All(d => d == 1)
                         && x[2] % a.Kernel[0] == 0 && x[3] % a.Kernel[1] == 0;
            if (!c.IsUsed(1) || tiles)
            {
                Finish(c, 0, c.Op("MaxPool", [ins[0]], window), cd);
                if (c.IsUsed(1)) c.Set(1, TiledMaxPoolIndices(c, ins[0], x, a.Kernel[0], a.Kernel[1]));
                return;
            }
            string y = c.Unique("_pool"), flat = c.Unique("_poolidx");
            c.Emit("MaxPool", [ins[0]], [y, flat], [.. window, A.I("storage_order", 0)]);
            Finish(c, 0, y, cd);
            // ONNX indices are flat over the whole N·C·H·W tensor; ours are per H·W plane: (n·C + c)·HW + i ≡ i mod HW.
            c.Result(1, "Mod", [flat, c.Const(DType.Int64, [], BitConverter.GetBytes(x[2] * x[3]))]);
        });
        // The inverse of the plane indices above: ONNX's MaxUnpool wants them flat over the whole tensor, so each plane's
        // offset (plane number × plane size) is added back. The batch may be symbolic, so the plane numbers come from a Range.
        Add(OpSet.MaxUnpool2d, c =>
        {
            var a = c.Attrs<MaxUnpool2dAttrs>();
            var (ins, cd) = Widened(c, 1);
            long channels = c.InSpec(0).Shape[1], plane = a.OutH * a.OutW;
            var lead = c.Op("Slice", c.Op("Shape", c.In(1)), c.Ints(0), c.Ints(2));
            var planes = c.Op("Range", c.Scalar(0, DType.Int64), c.Op("ReduceProd", [lead], A.I("keepdims", 0)), c.Scalar(1, DType.Int64));
            var offsets = c.Op("Reshape", c.Op("Mul", planes, c.Scalar(plane, DType.Int64)), c.Ints(-1, channels, 1, 1));
            var outShape = c.Op("Concat", [lead, c.Ints(a.OutH, a.OutW)], A.I("axis", 0));
            var y = c.Op("MaxUnpool", [ins[0], c.Op("Add", c.In(1), offsets), outShape], A.Ints("kernel_shape", new long[] { 1, 1 }));
            Finish(c, 0, y, cd);
        });
        Add(OpSet.AvgPool2d, c =>
        {
            var a = c.Attrs<AvgPool2dAttrs>();
            var (ins, cd) = Widened(c);
            var y = c.Op("AveragePool", ins, A.Ints("kernel_shape", a.Kernel), A.Ints("strides", a.Stride), A.Ints("pads", Pads(a.Padding)),
                A.I("count_include_pad", a.CountIncludePad ? 1 : 0));
            Finish(c, 0, y, cd);
        });
        // Evenly dividing windows are a plain AveragePool; otherwise y = Ph·x·Pwᵀ per plane with constant averaging matrices.
        Add(OpSet.AdaptiveAvgPool2d, c =>
        {
            var a = c.Attrs<AdaptivePool2dAttrs>();
            var (ins, cd) = Widened(c);
            var x = c.InSpec(0).Shape;
            long h = x[2], w = x[3];
            string y;
            if (h % a.OutH == 0 && w % a.OutW == 0)
            {
                long[] k = [h / a.OutH, w / a.OutW];
                y = c.Op("AveragePool", ins, A.Ints("kernel_shape", k), A.Ints("strides", k));
            }
            else
            {
                var ph = c.Doubles(AdaptiveMatrix(a.OutH, h), [a.OutH, h], cd);
                var pwT = c.Doubles(Transposed(AdaptiveMatrix(a.OutW, w), a.OutW, w), [w, a.OutW], cd);
                y = c.Op("MatMul", c.Op("MatMul", ph, ins[0]), pwT);
            }
            Finish(c, 0, y, cd);
        });
        Add(OpSet.BatchNorm, c =>
        {
            var a = c.Attrs<BatchNormAttrs>();
            var (ins, cd) = Widened(c);
            var xs = c.InSpec(0).Shape;
            int rank = xs.Rank;
            long ch = xs[1];
            if (!a.Training)
            {
                Finish(c, 0, c.Op("BatchNormalization", ins, A.F("epsilon", a.Eps)), cd);
                c.Result(1, "Identity", [c.In(3)]);
                c.Result(2, "Identity", [c.In(4)]);
                return;
            }
            // Training mode (ORT's BatchNormalization training_mode is limited): batch statistics with reductions.
            var axes = Enumerable.Range(0, rank).Where(i => i != 1).ToArray();
            var perChannel = c.Ints(Enumerable.Range(0, rank).Select(i => i == 1 ? ch : 1L).ToArray());
            var mean = c.Op("ReduceMean", [ins[0]], A.Ints("axes", axes), A.I("keepdims", 1));
            var xc = c.Op("Sub", ins[0], mean);
            var varB = c.Op("ReduceMean", [c.Op("Mul", xc, xc)], A.Ints("axes", axes), A.I("keepdims", 1));
            var rstd = c.Op("Reciprocal", c.Op("Sqrt", c.Op("Add", varB, c.Scalar(a.Eps, cd))));
            var y = c.Op("Add", c.Op("Mul", c.Op("Mul", xc, rstd), c.Op("Reshape", ins[1], perChannel)), c.Op("Reshape", ins[2], perChannel));
            Finish(c, 0, y, cd);
            var flatC = c.Ints(ch);
            var dt = c.OutSpec(1).DType;
            c.Set(1, c.Cast(c.Op("Reshape", mean, flatC), cd, dt));
            // Unbiased variance: n/(n−1) with n = elements per channel, computed from Size so a symbolic batch works.
            var n = c.Op("Div", c.Cast(c.Op("Size", ins[0]), DType.Int64, cd), c.Scalar(ch, cd));
            var unbiased = c.Op("Div", c.Op("Mul", c.Op("Reshape", varB, flatC), n), c.Op("Sub", n, c.Scalar(1, cd)));
            c.Set(2, c.Cast(unbiased, cd, dt));
        });
        // LayerNormalization exists from opset 17; below that, decompose. Its Scale input is required: ones when absent.
        Add(OpSet.LayerNorm, c =>
        {
            var a = c.Attrs<LayerNormAttrs>();
            var (ins, cd) = Widened(c);
            var xs = c.InSpec(0).Shape;
            int k = a.NormalizedRank;
            var normDims = xs.ToArray()[(xs.Rank - k)..];
            string? weight = a.HasWeight ? ins[1] : null;
            string? bias = a.HasBias ? ins[a.HasWeight ? 2 : 1] : null;
            string y;
            if (c.Opset >= 17)
            {
                weight ??= c.Doubles(Enumerable.Repeat(1.0, (int)normDims.Aggregate(1L, (p, d) => p * d)).ToArray(), normDims, cd);
                string[] lnIns = bias == null ? [ins[0], weight] : [ins[0], weight, bias];
                y = c.Op("LayerNormalization", lnIns, A.I("axis", -k), A.F("epsilon", a.Eps));
            }
            else
            {
                var axes = Enumerable.Range(xs.Rank - k, k).ToArray();
                var xc = c.Op("Sub", ins[0], c.Op("ReduceMean", [ins[0]], A.Ints("axes", axes), A.I("keepdims", 1)));
                var v = c.Op("ReduceMean", [c.Op("Mul", xc, xc)], A.Ints("axes", axes), A.I("keepdims", 1));
                y = c.Op("Mul", xc, c.Op("Reciprocal", c.Op("Sqrt", c.Op("Add", v, c.Scalar(a.Eps, cd)))));
                if (weight != null) y = c.Op("Mul", y, weight);
                if (bias != null) y = c.Op("Add", y, bias);
            }
            Finish(c, 0, y, cd);
        });
    }

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
