using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>Samples <paramref name="x"/> (N, C, H, W) at the normalised positions of <paramref name="grid"/>
    /// (N, Hout, Wout, 2; the last axis holds x then y in [−1, 1]) — PyTorch's <c>F.grid_sample</c>, whose defaults these are
    /// (<c>align_corners=False</c>).</summary>
    /// <param name="x">The input image batch.</param>
    /// <param name="grid">Sampling positions, same dtype as <paramref name="x"/>.</param>
    /// <param name="mode">Interpolation.</param>
    /// <param name="padding">Values read outside the input.</param>
    /// <param name="alignCorners">Whether −1 and 1 are the centres (true) or the outer edges (false) of the corner pixels.</param>
    /// <returns>(N, C, Hout, Wout).</returns>
    public static Tensor GridSample(Tensor x, Tensor grid, GridSampleMode mode = GridSampleMode.Bilinear,
        GridSamplePadding padding = GridSamplePadding.Zeros, bool alignCorners = false) =>
        Apply(OpSet.GridSample, new GridSampleAttrs(mode, padding, alignCorners), x, grid);
}
