using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private static readonly string[] ReduceOps =
    [
        "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum",
        "ReduceLogSumExp", "ArgMax", "ArgMin", "Hardmax",
    ];

    private sealed partial class Builder
    {
        /// <summary>Reductions (axes from the attribute, or from the second input for ReduceSum ≥ 13), arg reductions, Hardmax.</summary>
        private Value? MapReduce(string op)
        {
            switch (op)
            {
                case "ReduceMean": return Reduce(OpSet.Mean, Float(In(0)));
                case "ReduceSum": return Reduce(OpSet.Sum, In(0));
                case "ReduceMax": return Reduce(OpSet.Max, In(0));
                case "ReduceMin": return Reduce(OpSet.Min, In(0));
                case "ReduceSumSquare": { var x = In(0); return Reduce(OpSet.Sum, Bin(OpSet.Mul, x, x)); }
                case "ReduceL1": { var x = In(0); return Reduce(OpSet.Sum, Un(OpSet.Abs, x)); }
                case "ReduceL2": { var x = Float(In(0)); return Un(OpSet.Sqrt, Reduce(OpSet.Sum, Bin(OpSet.Mul, x, x))); }
                case "ReduceLogSum": return Un(OpSet.Log, Reduce(OpSet.Sum, Float(In(0))));
                case "ReduceLogSumExp": return Un(OpSet.Log, Reduce(OpSet.Sum, Un(OpSet.Exp, Float(In(0)))));
                case "ArgMax" or "ArgMin":
                {
                    var x = In(0);
                    var argOp = op == "ArgMax" ? OpSet.ArgMax : OpSet.ArgMin;
                    int axis = Axis(Int("axis", 0), x.Spec.Shape.Rank);
                    bool keep = Int("keepdims", 1) != 0;
                    if (Int("select_last_index", 0) == 0) return Node(argOp, new ArgReduceAttrs(axis, keep), x);
                    // The last extreme index is n − 1 − (the first one along the reversed axis).
                    long n = x.Spec.Shape[axis];
                    var reversed = Node(OpSet.Take, new TakeAttrs(axis), x, ConstLongs(Enumerable.Range(0, (int)n).Select(i => n - 1 - i).ToArray(), n));
                    var first = Node(argOp, new ArgReduceAttrs(axis, keep), reversed);
                    return Bin(OpSet.Sub, Sc(n - 1, first), first);
                }
                case "Hardmax":
                {
                    var x = In(0);
                    int rank = x.Spec.Shape.Rank;
                    if (opset >= 13)
                    {
                        int axis = Axis(Int("axis", -1), rank);
                        return MoveAxis(OneHotMax(MoveAxis(x, axis, rank - 1)), rank - 1, axis);
                    }
                    // Before opset 13 the input is coerced to 2-D at `axis`.
                    int a = Axis(Int("axis", 1), rank);
                    var d = x.Spec.Shape.ToArray();
                    var flat = Reshape(x, [d[..a].Aggregate(1L, (p, v) => p * v), d[a..].Aggregate(1L, (p, v) => p * v)]);
                    return Reshape(OneHotMax(flat), d);
                }
                default: return null;
            }
        }

        // One-hot of the first maximum along the last axis, in x's dtype.
        private Value OneHotMax(Value x)
        {
            int last = x.Spec.Shape.Rank - 1;
            var idx = Node(OpSet.ArgMax, new ArgReduceAttrs(last, false), x);
            return Node(OpSet.OneHot, new OneHotAttrs(x.Spec.Shape[last], x.Spec.DType), idx);
        }

        private Value Reduce(Op op, Value x)
        {
            int rank = x.Spec.Shape.Rank;
            long[]? axes = op == OpSet.Sum && _n.OpType == "ReduceSum" && opset >= 13 ? (Has(1) ? ConstInts(1) : null) : Ints("axes");
            if ((axes == null || axes.Length == 0) && Int("noop_with_empty_axes", 0) != 0) return x;
            var ax = (axes ?? []).Select(a => Axis(a, rank)).Distinct().Order().ToArray();
            // Our integer sums widen to int64; ONNX keeps the input dtype.
            return CastTo(Node(op, new ReduceAttrs(ax, Int("keepdims", 1) != 0), x), x.Spec.DType);
        }
    }
}
