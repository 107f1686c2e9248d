using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the scatter family (<c>OpSet.Scatter.cs</c>).</summary>
    private static void AddScatter(LoweringTable t)
    {
        t.Add(OpSet.GatherElements, c =>
        {
            int axis = c.Attrs<IndexAxisAttrs>().Axis;
            // torch.gather allows an index smaller than x off the axis; ONNX wants them equal: slice x to the index's extent.
            var x = SliceToExtent(c, c.In(0), c.InSpec(0).Shape, c.InSpec(1).Shape, axis);
            c.Result(0, "GatherElements", [x, c.In(1)], OnnxAttr.Int("axis", axis));
        });
        // ScatterElements gained reduction="add" in opset 16.
        t.Add(OpSet.ScatterAdd, c =>
        {
            int axis = c.Attrs<IndexAxisAttrs>().Axis;
            // Source elements outside the index's extent are never read; ONNX wants updates shaped like the indices.
            var src = SliceToExtent(c, c.In(2), c.InSpec(2).Shape, c.InSpec(1).Shape, -1);
            var dt = c.InSpec(0).DType;
            var cd = Compute(dt);
            var y = c.Op("ScatterElements", [c.Cast(c.In(0), dt, cd), c.In(1), c.Cast(src, dt, cd)], OnnxAttr.Int("axis", axis), OnnxAttr.String("reduction", "add"));
            Finish(c, 0, y, cd);
        }, 16);
    }

    /// <summary>Slices <paramref name="x"/> to <paramref name="extent"/> on every axis except <paramref name="skipAxis"/> (no node when it already fits).</summary>
    private static string SliceToExtent(LoweringContext c, string x, Shape shape, Shape extent, int skipAxis)
    {
        var axes = Enumerable.Range(0, shape.Rank).Where(i => i != skipAxis && extent[i] < shape[i]).ToArray();
        if (axes.Length == 0) return x;
        return c.Op("Slice", x, c.Ints(new long[axes.Length]), c.Ints(axes.Select(i => extent[i]).ToArray()), c.Ints(axes));
    }
}
