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
            string y = c.Unique("_pool"), flat = c.Unique("_poolidx");
            c.Emit("MaxPool", [ins[0]], [y, flat], OnnxAttr.Ints("kernel_shape", a.Kernel), OnnxAttr.Ints("strides", a.Stride), OnnxAttr.Ints("pads", Pads(a.Padding)),
                OnnxAttr.Ints("dilations", a.Dilation), OnnxAttr.Int("ceil_mode", a.CeilMode ? 1 : 0), OnnxAttr.Int("storage_order", 0));
            Finish(c, 0, y, cd);
            // ONNX indices are flat over the whole N·C·H·W tensor; ours are per H·W plane: (n·C + c)·HW + i ≡ i mod HW.
            c.Result(1, "Mod", [flat, c.Const(DType.Int64, [], BitConverter.GetBytes(x[2] * x[3]))]);
        });
        t.Add(OpSet.AvgPool2d, (c, a) =>
        {
            var (ins, cd) = Widened(c);
            var y = c.Op("AveragePool", ins, OnnxAttr.Ints("kernel_shape", a.Kernel), OnnxAttr.Ints("strides", a.Stride), OnnxAttr.Ints("pads", Pads(a.Padding)),
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
