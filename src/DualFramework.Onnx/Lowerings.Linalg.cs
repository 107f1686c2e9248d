using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the linalg family (<c>OpSet.Linalg.cs</c>).</summary>
    private static void AddLinalg(LoweringTable t)
    {
        // ORT's Det kernel is float32 only: float64 matrices up to 4×4 are expanded along the first row (Laplace, in
        // float64); larger ones and half precision are computed in float32 and cast back.
        t.Add(OpSet.Det, c =>
        {
            var spec = c.InSpec(0);
            int r = spec.Shape.Rank;
            long n = spec.Shape[r - 1];
            if (spec.DType == DType.Float32) { c.Result(0, "Det", [c.In(0)]); return; }
            if (spec.DType != DType.Float64 || n > MaxLaplaceDet) { Finish(c, 0, c.Op("Det", c.Cast(c.In(0), spec.DType, DType.Float32)), DType.Float32); return; }
            c.Set(0, LaplaceDet(c, c.In(0), spec.Shape.ToArray()[..^2], (int)n));
        });
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

    private const int MaxLaplaceDet = 4;

    /// <summary>det of <paramref name="x"/> ([..batch, n, n]) by cofactor expansion along the first row.</summary>
    private static string LaplaceDet(LoweringContext c, string x, long[] batch, int n)
    {
        if (n == 1) return c.Op("Reshape", x, c.Ints(batch));
        var below = c.Op("Gather", [x, c.Ints(Enumerable.Range(1, n - 1))], OnnxAttr.Int("axis", batch.Length));
        string? det = null;
        for (int j = 0; j < n; j++)
        {
            var a = c.Op("Gather", [x, c.IntTensor([], [0])], OnnxAttr.Int("axis", batch.Length));
            a = c.Op("Gather", [a, c.IntTensor([], [j])], OnnxAttr.Int("axis", batch.Length)); // x[..., 0, j]
            var minor = c.Op("Gather", [below, c.Ints(Enumerable.Range(0, n).Where(k => k != j))], OnnxAttr.Int("axis", batch.Length + 1));
            var term = c.Op("Mul", a, LaplaceDet(c, minor, batch, n - 1));
            det = det == null ? term : c.Op(j % 2 == 0 ? "Add" : "Sub", det, term);
        }
        return det!;
    }
}
