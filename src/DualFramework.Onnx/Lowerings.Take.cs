using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the take family (<c>OpSet.Take.cs</c>).</summary>
    private static void AddTake(LoweringTable t)
    {
        // Gather accepts negative indices (counting from the end), as take does.
        t.Add(OpSet.Take, (c, a) => c.Result(0, "Gather", [c.In(0), c.In(1)], OnnxAttr.Int("axis", a.Axis)));
    }
}
