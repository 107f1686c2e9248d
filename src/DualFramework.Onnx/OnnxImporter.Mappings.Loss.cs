using DualFramework.IR;
using DualFramework.Losses;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>
        /// The ONNX losses on <c>[N, C]</c> or <c>[N, C, d1, ...]</c> scores. Extra axes are folded into the batch (scores
        /// moved to <c>[N·d1·…, C]</c>, targets flattened), which leaves every reduction unchanged; a per-element ("none")
        /// loss is reshaped back to <c>[N, d1, ...]</c>.
        /// </summary>
        private void AddLoss()
        {
            Map("SoftmaxCrossEntropyLoss", _ =>
            {
                var (x, t, w, ii, red, back) = LossInputs();
                var attrs = new CrossEntropyAttrs(ii, 0, red);
                var loss = w == null ? Node(OpSet.CrossEntropy, attrs, x, t) : Node(OpSet.CrossEntropy, attrs, x, t, w);
                _more.Add(Node(OpSet.LogSoftmax, new SoftmaxAttrs(1), In(0)));
                return red == Reduction.None ? back(loss) : loss;
            });
            Map("NegativeLogLikelihoodLoss", _ =>
            {
                // Built from ops rather than LossFunctions.Nll: target values are run-time data here, so they cannot be
                // range-checked at import; OneHot reports out-of-range targets when the graph runs.
                var (x, t, w, ii, red, back) = LossInputs();
                long c = x.Spec.Shape[1];
                var ignored = Bin(OpSet.Equal, t, Sc(ii, t));
                var safe = Select(ignored, Sc(0, t), t);
                var onehot = Node(OpSet.OneHot, new OneHotAttrs(c, x.Spec.DType), safe);               // [M, C]
                var rows = new ReduceAttrs([1], false);
                var picked = Node(OpSet.Sum, rows, Bin(OpSet.Mul, onehot, x));                        // x[i, y_i]
                var valid = CastTo(Un(OpSet.LogicalNot, ignored), x.Spec.DType);
                var wy = w == null ? valid : Bin(OpSet.Mul, Node(OpSet.Sum, rows, Bin(OpSet.Mul, onehot, w)), valid);
                var loss = Un(OpSet.Neg, Bin(OpSet.Mul, picked, wy));
                var all = new ReduceAttrs([0], false);
                return red switch
                {
                    Reduction.None => back(loss),
                    Reduction.Sum => Node(OpSet.Sum, all, loss),
                    _ => Bin(OpSet.Div, Node(OpSet.Sum, all, loss), Node(OpSet.Sum, all, wy)),
                };
            });
        }

        // Shared inputs of the ONNX loss ops, flattened to [M, C] scores and int64 targets [M] (M = N·d1·…), optional
        // weights [C], and the reshape of a per-element loss [M] back to [N, d1, ...].
        private (Value X, Value T, Value? W, long IgnoreIndex, Reduction Reduction, Func<Value, Value> Back) LossInputs()
        {
            var x = Float(In(0));
            var d = x.Spec.Shape.ToArray();
            if (d.Length < 2) throw Bad($"scores must have rank ≥ 2 ([N, C, ...]), got {x.Spec.Shape}");
            var t = In(1);
            if (!t.Spec.DType.IsInteger()) throw Bad($"{t.Spec.DType.Name()} targets are not supported");
            var tShape = d.Where((_, i) => i != 1).ToArray();
            if (!t.Spec.Shape.ToArray().SequenceEqual(tShape)) throw Bad($"targets must have shape [{string.Join(", ", tShape)}], got {t.Spec.Shape}");
            var w = Has(2) ? In(2) : null;
            if (w != null && (w.Spec.DType != x.Spec.DType || w.Spec.Shape.Rank != 1 || w.Spec.Shape[0] != d[1]))
                throw Bad($"weights must be {x.Spec.DType.Name()}[{d[1]}], got {w.Spec.DType.Name()}{w.Spec.Shape}");
            // Without the attribute no target is ignored; a value outside every valid class index stands in for "none".
            long ii = Attr("ignore_index") is { } a ? a.I : long.MinValue;
            var red = Str("reduction", "mean") switch
            {
                "mean" => Reduction.Mean,
                "sum" => Reduction.Sum,
                "none" => Reduction.None,
                var r => throw Bad($"reduction '{r}' is not supported (mean, sum or none)"),
            };
            long m = Prod(tShape);
            var flatX = Reshape(MoveAxis(x, 1, d.Length - 1), [m, d[1]]);
            var flatT = Reshape(CastTo(t, DType.Int64), [m]);
            return (flatX, flatT, w, ii, red, loss => Reshape(loss, tShape));
        }
    }
}
