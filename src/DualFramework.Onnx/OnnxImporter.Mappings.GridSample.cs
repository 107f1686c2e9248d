using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>GridSample (opset 16): 4-D input, modes bilinear / nearest / bicubic, padding zeros / border / reflection.</summary>
        private void AddGridSample()
        {
            Map("GridSample", _ =>
            {
                var x = In(0);
                var grid = In(1);
                if (x.Spec.Shape.Rank != 4) throw Bad($"a rank-{x.Spec.Shape.Rank} input is not supported (only 4-D (N, C, H, W))");
                string modeName = Str("mode", "bilinear");
                var mode = modeName switch
                {
                    "bilinear" => GridSampleMode.Bilinear,
                    "nearest" => GridSampleMode.Nearest,
                    "bicubic" => GridSampleMode.Bicubic,
                    _ => throw Bad($"mode '{modeName}' is not supported"),
                };
                string paddingName = Str("padding_mode", "zeros");
                var padding = paddingName switch
                {
                    "zeros" => GridSamplePadding.Zeros,
                    "border" => GridSamplePadding.Border,
                    "reflection" => GridSamplePadding.Reflection,
                    _ => throw Bad($"padding_mode '{paddingName}' is not supported"),
                };
                return Node(OpSet.GridSample, new GridSampleAttrs(mode, padding, Int("align_corners", 0) != 0), x, CastTo(grid, x.Spec.DType));
            });
        }
    }
}
