using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>
    /// RoI Align, average mode (ONNX RoiAlign, torchvision <c>roi_align</c>): for each region (x1, y1, x2, y2) of
    /// <paramref name="rois"/> (R, 4) on image <paramref name="batchIndices"/>[r] of <paramref name="x"/> (N, C, H, W), the mean
    /// of samplingRatio² bilinear samples per output bin; the result is (R, C, outputHeight, outputWidth). Composed of
    /// take and <see cref="GridSample(Tensor, Tensor, GridSampleMode, GridSamplePadding, bool)"/> (border padding, with samples
    /// more than one pixel outside the image zeroed, as RoiAlign specifies), so it is differentiable in x and the regions.
    /// </summary>
    /// <param name="x">Feature maps.</param>
    /// <param name="rois">Regions in input coordinates, same dtype as x.</param>
    /// <param name="batchIndices">Image of each region (int64, R).</param>
    /// <param name="outputHeight">Bins per region vertically.</param>
    /// <param name="outputWidth">Bins per region horizontally.</param>
    /// <param name="samplingRatio">Samples per bin along each axis (≥ 1; the adaptive 0 of ONNX depends on the data).</param>
    /// <param name="spatialScale">Factor from region to feature-map coordinates.</param>
    /// <param name="aligned">True: pixel centres at +0.5 (ONNX half_pixel, torchvision aligned=True); false: the legacy
    /// output_half_pixel, with regions at least one pixel wide.</param>
    public static Tensor RoiAlign(Tensor x, Tensor rois, Tensor batchIndices, long outputHeight, long outputWidth, long samplingRatio,
        double spatialScale = 1, bool aligned = true)
    {
        if (x.Rank != 4 || x.Shape[2] < 2 || x.Shape[3] < 2 || rois.Rank != 2 || rois.Shape[1] != 4 || batchIndices.Rank != 1
            || batchIndices.Shape[0] != rois.Shape[0] || outputHeight < 1 || outputWidth < 1 || samplingRatio < 1)
            throw new OpException("roi_align", [x.Spec, rois.Spec, batchIndices.Spec],
                $"expects (N, C, H ≥ 2, W ≥ 2) maps, (R, 4) regions, R batch indices, positive output size and sampling ratio {samplingRatio} ≥ 1",
                LayerPath.Current);
        long r = rois.Shape[0], h = x.Shape[2], w = x.Shape[3];
        double offset = aligned ? 0.5 : 0;
        // Sample positions along one axis: start + bin·(s + 0.5)/ratio for s < size·ratio, as (R, size·ratio).
        Tensor Positions(int lo, int hi, long size)
        {
            var start = Sub(Mul(Slice(rois, 1, lo, lo + 1), spatialScale), offset);
            var extent = Sub(Sub(Mul(Slice(rois, 1, hi, hi + 1), spatialScale), offset), start);
            if (!aligned) extent = Clamp(extent, 1.0);
            var steps = Cast(Div(Add(Arange(0, size * samplingRatio, 1, DType.Float64, x.Backend), 0.5), samplingRatio * (double)size), x.DType);
            return Add(start, Mul(extent, Reshape(steps, 1, size * samplingRatio)));
        }
        var px = Positions(0, 2, outputWidth);
        var py = Positions(1, 3, outputHeight);
        long sh = outputHeight * samplingRatio, sw = outputWidth * samplingRatio;
        // align_corners = true maps grid −1…1 onto pixel centres 0…size − 1, so a position p is 2p / (size − 1) − 1.
        var gx = BroadcastTo(Reshape(Sub(Mul(px, 2.0 / (w - 1)), 1.0), r, 1, sw, 1), new Shape(r, sh, sw, 1));
        var gy = BroadcastTo(Reshape(Sub(Mul(py, 2.0 / (h - 1)), 1.0), r, sh, 1, 1), new Shape(r, sh, sw, 1));
        var sampled = GridSample(Take(x, batchIndices, 0), Concat([gx, gy], 3), GridSampleMode.Bilinear, GridSamplePadding.Border, alignCorners: true);
        var inX = Cast(LogicalAnd(GreaterEqual(px, -1.0), LessEqual(px, (double)w)), x.DType);
        var inY = Cast(LogicalAnd(GreaterEqual(py, -1.0), LessEqual(py, (double)h)), x.DType);
        var mask = Mul(Reshape(inY, r, 1, sh, 1), Reshape(inX, r, 1, 1, sw));
        var bins = Reshape(Mul(sampled, mask), r, x.Shape[1], outputHeight, samplingRatio, outputWidth, samplingRatio);
        return Mean(bins, [3, 5]);
    }
}
