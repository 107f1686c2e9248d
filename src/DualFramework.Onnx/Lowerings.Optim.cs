using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the optim family (<c>OpSet.Optim.cs</c>).</summary>
    private static void AddOptim(LoweringTable t)
    {
        t.Add(OpSet.AdamUpdate, (c, a) =>
        {
            var (ins, cd) = Widened(c);
            string p = ins[0], g = ins[1], m = ins[2], v = ins[3];
            var m2 = c.Op("Add", c.Op("Mul", m, c.Scalar(a.Beta1, cd)), c.Op("Mul", g, c.Scalar(1 - a.Beta1, cd)));
            var v2 = c.Op("Add", c.Op("Mul", v, c.Scalar(a.Beta2, cd)), c.Op("Mul", c.Op("Mul", g, g), c.Scalar(1 - a.Beta2, cd)));
            var denom = c.Op("Add", c.Op("Div", c.Op("Sqrt", v2), c.Scalar(a.SqrtBiasCorrection2, cd)), c.Scalar(a.Eps, cd));
            var p2 = c.Op("Sub", p, c.Op("Mul", c.Op("Div", m2, denom), c.Scalar(a.StepSize, cd)));
            Finish(c, 0, p2, cd);
            Finish(c, 1, m2, cd);
            Finish(c, 2, v2, cd);
        });
    }
}
