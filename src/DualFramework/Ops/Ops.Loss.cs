using DualFramework.Losses;
using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>Cross-entropy of logits <c>[N, C]</c> and integer targets <c>[N]</c> as one op (see <see cref="CrossEntropyOp"/>);
    /// <see cref="LossFunctions.CrossEntropy"/> is the documented entry point.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor targets, Tensor? weight, long ignoreIndex, double labelSmoothing, Reduction reduction)
    {
        var attrs = new CrossEntropyAttrs(ignoreIndex, labelSmoothing, reduction);
        var t = targets.DType.IsInteger() ? CastTo(targets, DType.Int64) : targets;
        return weight == null
            ? Apply(OpSet.CrossEntropy, attrs, logits, t)
            : Apply(OpSet.CrossEntropy, attrs, logits, t, CastTo(weight, logits.DType));
    }
}
