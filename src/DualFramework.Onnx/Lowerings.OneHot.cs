using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the onehot family (<c>OpSet.OneHot.cs</c>).</summary>
    private static void AddOneHot(LoweringTable t)
    {
        // one_hot as Equal(indices[..., None], arange(depth)): out-of-range indices give an all-zero row (torch raises).
        t.Add(OpSet.OneHot, (c, a) =>
        {
            var idx = c.Cast(c.In(0), c.InSpec(0).DType, DType.Int64);
            var classes = c.Ints(Enumerable.Range(0, (int)a.Depth).Select(i => (long)i).ToArray());
            var hit = c.Op("Equal", c.Op("Unsqueeze", idx, c.Ints(-1)), classes);
            Finish(c, 0, hit, DType.Bool);
        });
    }
}
