using DualFramework.Losses;
using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the loss family (<c>OpSet.Loss.cs</c>).</summary>
    private static void AddLoss(LoweringTable t)
    {
        t.Add(OpSet.CrossEntropy, (c, a) =>
        {
            var (ins, cd) = Widened(c);
            string reduction = a.Reduction switch { Reduction.Sum => "sum", Reduction.None => "none", _ => "mean" };
            if (a.LabelSmoothing == 0)
            {
                var loss = c.Op("SoftmaxCrossEntropyLoss", ins, OnnxAttr.String("reduction", reduction), OnnxAttr.Int("ignore_index", a.IgnoreIndex));
                Finish(c, 0, loss, cd);
                return;
            }
            Finish(c, 0, SmoothedCrossEntropy(c, a, ins, cd), cd);
        });
    }

    /// <summary>
    /// PyTorch's label-smoothed cross-entropy (SoftmaxCrossEntropyLoss has no smoothing):
    /// (1−ε)·nll + ε/C·smooth with nll_i = −w_yᵢ·log p_i,yᵢ and smooth_i = −Σ_c w_c·log p_ic over non-ignored samples;
    /// the mean divides both by Σ_i w_yᵢ over non-ignored samples.
    /// </summary>
    private static string SmoothedCrossEntropy(LoweringContext c, CrossEntropyAttrs a, string[] ins, DType cd)
    {
        long classes = c.InSpec(0).Shape[1];
        string z = ins[0], t = ins[1];
        string? w = ins.Length == 3 ? ins[2] : null;
        var one = c.Ints(1);
        var logp = c.Op("LogSoftmax", [z], OnnxAttr.Int("axis", 1));
        var valid = c.Op("Not", c.Op("Equal", t, c.Scalar(a.IgnoreIndex, DType.Int64)));
        var safe = c.Op("Where", valid, t, c.Scalar(0, DType.Int64));
        var range = c.Op("Range", c.Scalar(0, DType.Int64), c.Scalar(classes, DType.Int64), c.Scalar(1, DType.Int64));
        var onehot = c.Cast(c.Op("Equal", c.Op("Unsqueeze", safe, one), range), DType.Bool, cd);
        var validF = c.Cast(valid, DType.Bool, cd);
        string RowSum(string x) => c.Op("ReduceSum", [x, one], OnnxAttr.Int("keepdims", 0));
        var wyValid = w == null ? validF : c.Op("Mul", RowSum(c.Op("Mul", onehot, w)), validF);
        var nll = c.Op("Mul", c.Op("Neg", RowSum(c.Op("Mul", onehot, logp))), wyValid);
        var smooth = c.Op("Mul", c.Op("Neg", RowSum(w == null ? logp : c.Op("Mul", logp, w))), validF);
        var loss = c.Op("Add", c.Op("Mul", nll, c.Scalar(1 - a.LabelSmoothing, cd)), c.Op("Mul", smooth, c.Scalar(a.LabelSmoothing / classes, cd)));
        return a.Reduction switch
        {
            Reduction.None => loss,
            Reduction.Sum => c.Op("ReduceSum", [loss], OnnxAttr.Int("keepdims", 0)),
            _ => c.Op("Div", c.Op("ReduceSum", [loss], OnnxAttr.Int("keepdims", 0)), c.Op("ReduceSum", [wyValid], OnnxAttr.Int("keepdims", 0))),
        };
    }
}
