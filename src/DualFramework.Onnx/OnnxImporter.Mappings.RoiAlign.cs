using DualFramework.IR;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>RoiAlign (opsets 10, 16): average mode with a fixed <c>sampling_ratio</c>, traced from <c>Ops.RoiAlign</c>
        /// (take + GridSample); opset 10 and <c>output_half_pixel</c> use the legacy unaligned coordinates.</summary>
        private void AddRoiAlign()
        {
            Map("RoiAlign", _ =>
            {
                var x = Float(In(0));
                var rois = CastTo(In(1), x.Spec.DType);
                var indices = CastTo(In(2), DType.Int64);
                string mode = Str("mode", "avg");
                // ONNX Runtime's max mode takes the largest weighted corner, not the largest sample.
                if (mode != "avg") throw Bad($"mode '{mode}' is not supported (avg only)");
                long ratio = Int("sampling_ratio", 0);
                if (ratio < 1) throw Bad($"sampling_ratio {ratio} is not supported: the adaptive ratio depends on the region values");
                string transform = opset >= 16 ? Str("coordinate_transformation_mode", "half_pixel") : "output_half_pixel";
                if (transform is not ("half_pixel" or "output_half_pixel")) throw Bad($"coordinate_transformation_mode '{transform}' is not supported");
                long oh = Int("output_height", 1), ow = Int("output_width", 1);
                double scale = Float("spatial_scale", 1f);
                return Traced(t => Ops.RoiAlign(t[0], t[1], t[2], oh, ow, ratio, scale, transform == "half_pixel"), x, rois, indices);
            });
        }
    }
}
