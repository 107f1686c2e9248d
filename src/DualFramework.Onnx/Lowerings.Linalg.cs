using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the linalg family (<c>OpSet.Linalg.cs</c>).</summary>
    private static void AddLinalg(LoweringTable t)
    {
        t.Add(OpSet.MatMul, c =>
        {
            var (ins, cd) = Widened(c);
            Finish(c, 0, c.Op("MatMul", ins), cd);
        });
        // Gemm (transB) for a 2-D input, else MatMul with Wᵀ plus the bias.
        t.Add(OpSet.Linear, c =>
        {
            var (ins, cd) = Widened(c);
            string y;
            if (c.InSpec(0).Shape.Rank == 2) y = c.Op("Gemm", ins, OnnxAttr.Int("transB", 1));
            else
            {
                y = c.Op("MatMul", ins[0], c.Op("Transpose", [ins[1]], OnnxAttr.Ints("perm", new[] { 1, 0 })));
                if (ins.Length == 3) y = c.Op("Add", y, ins[2]);
            }
            Finish(c, 0, y, cd);
        });
    }
}
