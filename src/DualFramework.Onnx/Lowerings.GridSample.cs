using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the grid-sample family (<c>OpSet.GridSample.cs</c>): ONNX GridSample, which exists from opset
    /// 16 (its gradient lowers through the gathers and scatter-adds it is built from).</summary>
    private static void AddGridSample(LoweringTable t)
    {
        t.Add(OpSet.GridSample, (c, a) =>
        {
            string mode = a.Mode switch { GridSampleMode.Nearest => "nearest", GridSampleMode.Bicubic => "bicubic", _ => "bilinear" };
            string padding = a.Padding switch { GridSamplePadding.Border => "border", GridSamplePadding.Reflection => "reflection", _ => "zeros" };
            var attrs = new[] { OnnxAttr.String("mode", mode), OnnxAttr.String("padding_mode", padding), OnnxAttr.Int("align_corners", a.AlignCorners ? 1 : 0) };
            var dtype = c.InSpec(0).DType;
            if (dtype != DType.Float64)
            {
                c.Result(0, "GridSample", [c.In(0), c.In(1)], attrs);
                return;
            }
            // ONNX Runtime's GridSample before opset 20 has a float32 kernel only: float64 runs in float32 (relative error
            // about 1e-7).
            var y = c.Op("GridSample", [c.Cast(c.In(0), dtype, DType.Float32), c.Cast(c.In(1), dtype, DType.Float32)], attrs);
            c.Result(0, "Cast", [y], OnnxAttr.Int("to", (long)OnnxTypes.ToOnnx(DType.Float64)));
        }, minOpset: 16);
    }
}
