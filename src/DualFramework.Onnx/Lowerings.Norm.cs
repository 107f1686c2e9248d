using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the norm family (<c>OpSet.Norm.cs</c>).</summary>
    private static void AddNorm(LoweringTable t)
    {
        // keep = h(i) ≥ ⌈p·2³⁰⌉ with h the counter hash of the element index under the op's seed (see DropoutBits);
        // y = keep ? x/(1 − p) : 0. The seed is a per-run graph input inside a compiled function, a constant otherwise.
        t.Add(OpSet.Dropout, (c, a) =>
        {
            var (ins, cd) = Widened(c);
            var keep = c.Out(1);
            var i = c.Op("Reshape", c.Op("Range", c.Scalar(0, DType.Int64), c.Op("Size", ins[0]), c.Scalar(1, DType.Int64)), c.Op("Shape", ins[0]));
            var bits = CounterHash(c, i, c.InSpec(0).Shape.NumElements, a.Seed);
            c.Emit("GreaterOrEqual", [bits, c.Scalar(DropoutThreshold(a.P), DType.Int64)], [keep]);
            var y = c.Op("Where", keep, c.Op("Mul", ins[0], c.Scalar(DropoutOp.Scale(a.P), cd)), c.Scalar(0, cd));
            Finish(c, 0, y, cd);
            c.Set(1, keep);
        });
        t.Add(OpSet.BatchNorm, (c, a) =>
        {
            var (ins, cd) = Widened(c);
            var xs = c.InSpec(0).Shape;
            int rank = xs.Rank;
            long ch = xs[1];
            if (!a.Training)
            {
                Finish(c, 0, c.Op("BatchNormalization", ins, OnnxAttr.Float("epsilon", a.Eps)), cd);
                c.Result(1, "Identity", [c.In(3)]);
                c.Result(2, "Identity", [c.In(4)]);
                return;
            }
            // Training mode (ORT's BatchNormalization training_mode is limited): batch statistics with reductions.
            var axes = Enumerable.Range(0, rank).Where(i => i != 1).ToArray();
            var perChannel = c.Ints(Enumerable.Range(0, rank).Select(i => i == 1 ? ch : 1L).ToArray());
            var mean = c.Op("ReduceMean", [ins[0]], OnnxAttr.Ints("axes", axes), OnnxAttr.Int("keepdims", 1));
            var xc = c.Op("Sub", ins[0], mean);
            var varB = c.Op("ReduceMean", [c.Op("Mul", xc, xc)], OnnxAttr.Ints("axes", axes), OnnxAttr.Int("keepdims", 1));
            var rstd = c.Op("Reciprocal", c.Op("Sqrt", c.Op("Add", varB, c.Scalar(a.Eps, cd))));
            var y = c.Op("Add", c.Op("Mul", c.Op("Mul", xc, rstd), c.Op("Reshape", ins[1], perChannel)), c.Op("Reshape", ins[2], perChannel));
            Finish(c, 0, y, cd);
            var flatC = c.Ints(ch);
            var dt = c.OutSpec(1).DType;
            c.Set(1, c.Cast(c.Op("Reshape", mean, flatC), cd, dt));
            // Unbiased variance: n/(n−1) with n = elements per channel, computed from Size so a symbolic batch works.
            var n = c.Op("Div", c.Cast(c.Op("Size", ins[0]), DType.Int64, cd), c.Scalar(ch, cd));
            var unbiased = c.Op("Div", c.Op("Mul", c.Op("Reshape", varB, flatC), n), c.Op("Sub", n, c.Scalar(1, cd)));
            c.Set(2, c.Cast(unbiased, cd, dt));
        });
        // LayerNormalization exists from opset 17; below that, decompose. Its Scale input is required: ones when absent.
        t.Add(OpSet.LayerNorm, (c, a) =>
        {
            var (ins, cd) = Widened(c);
            var xs = c.InSpec(0).Shape;
            int k = a.NormalizedRank;
            var normDims = xs.ToArray()[(xs.Rank - k)..];
            string? weight = a.HasWeight ? ins[1] : null;
            string? bias = a.HasBias ? ins[a.HasWeight ? 2 : 1] : null;
            string y;
            if (c.Opset >= 17)
            {
                weight ??= c.Doubles(Enumerable.Repeat(1.0, (int)normDims.Aggregate(1L, (p, d) => p * d)).ToArray(), normDims, cd);
                string[] lnIns = bias == null ? [ins[0], weight] : [ins[0], weight, bias];
                y = c.Op("LayerNormalization", lnIns, OnnxAttr.Int("axis", -k), OnnxAttr.Float("epsilon", a.Eps));
            }
            else
            {
                var axes = Enumerable.Range(xs.Rank - k, k).ToArray();
                var xc = c.Op("Sub", ins[0], c.Op("ReduceMean", [ins[0]], OnnxAttr.Ints("axes", axes), OnnxAttr.Int("keepdims", 1)));
                var v = c.Op("ReduceMean", [c.Op("Mul", xc, xc)], OnnxAttr.Ints("axes", axes), OnnxAttr.Int("keepdims", 1));
                y = c.Op("Mul", xc, c.Op("Reciprocal", c.Op("Sqrt", c.Op("Add", v, c.Scalar(a.Eps, cd)))));
                if (weight != null) y = c.Op("Mul", y, weight);
                if (bias != null) y = c.Op("Add", y, bias);
            }
            Finish(c, 0, y, cd);
        });
    }

    /// <summary>Dropout keeps an element when its 30-bit hash is at least this: P(keep) = 1 − p up to 2⁻³⁰.</summary>
    internal static long DropoutThreshold(double p) => (long)Math.Min(Math.Ceiling(p * HashLevels), HashLevels);
}
