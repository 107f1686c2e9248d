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
            c.Result(0, "GridSample", [c.In(0), c.In(1)], OnnxAttr.String("mode", mode), OnnxAttr.String("padding_mode", padding),
                OnnxAttr.Int("align_corners", a.AlignCorners ? 1 : 0));
        }, minOpset: 16);
    }
}
