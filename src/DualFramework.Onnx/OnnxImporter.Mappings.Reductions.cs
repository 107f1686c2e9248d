using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>Reductions (axes from the attribute, or from the second input for ReduceSum ≥ 13), arg reductions, Hardmax.</summary>
        private void AddReductions()
        {
            Map("ReduceMean", _ => Reduce(OpSet.Mean, Float(In(0))));
            Map("ReduceSum", _ => Reduce(OpSet.Sum, In(0)));
            Map("ReduceMax", _ => Reduce(OpSet.Max, In(0)));
            Map("ReduceMin", _ => Reduce(OpSet.Min, In(0)));
            Map("ReduceSumSquare", _ => { var x = In(0); return Reduce(OpSet.Sum, Bin(OpSet.Mul, x, x)); });
            Map("ReduceL1", _ => { var x = In(0); return Reduce(OpSet.Sum, Un(OpSet.Abs, x)); });
            Map("ReduceL2", _ => { var x = Float(In(0)); return Un(OpSet.Sqrt, Reduce(OpSet.Sum, Bin(OpSet.Mul, x, x))); });
            Map("ReduceLogSum", _ => Un(OpSet.Log, Reduce(OpSet.Sum, Float(In(0)))));
            Map("ReduceLogSumExp", _ => Un(OpSet.Log, Reduce(OpSet.Sum, Un(OpSet.Exp, Float(In(0))))));
            Map(["ArgMax", "ArgMin"], op =>
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
            });
            Map("Hardmax", _ =>
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
            });
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
