using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the topk family (<c>OpSet.TopK.cs</c>).</summary>
    private static void AddTopK(LoweringTable t)
    {
        // TopK-11 takes k as a one-element int64 input; ORT's CPU kernel covers float, double, int32 and int64, so the
        // other dtypes are computed in float32 / int32 (exact for them) and cast back.
        t.Add(OpSet.TopK, (c, a) =>
        {
            var dt = c.InSpec(0).DType;
            var cd = Compute(dt);
            var values = c.Unique("topk_values");
            var indices = c.Unique("topk_indices");
            c.Emit("TopK", [c.Cast(c.In(0), dt, cd), c.Ints(a.K)], [values, indices],
                OnnxAttr.Int("axis", a.Axis), OnnxAttr.Int("largest", a.Largest ? 1 : 0), OnnxAttr.Int("sorted", a.Sorted ? 1 : 0));
            Finish(c, 0, values, cd);
            c.Set(1, indices);
        });
    }
}
