using DualFramework.Autodiff;
using DualFramework.Losses;
using static DualFramework.Ops;

namespace DualFramework.Operators;

/// <summary>Options of <see cref="CrossEntropyOp"/>.</summary>
/// <param name="IgnoreIndex">Target value whose samples are skipped.</param>
/// <param name="LabelSmoothing">ε: targets become (1−ε)·onehot + ε/C.</param>
/// <param name="Reduction">Mean (weighted by target-class weights), sum or none.</param>
public sealed record CrossEntropyAttrs(long IgnoreIndex, double LabelSmoothing, Reduction Reduction) : OpAttrs;

/// <summary>
/// Cross-entropy of logits <c>[N, C]</c> against int64 class targets <c>[N]</c> with optional class weights <c>[C]</c>
/// (third operand), PyTorch's definition. One op (log-softmax and the weighted pick fused) because it is on every training
/// step's hot path; backends map it to their fused kernel (libtorch <c>cross_entropy</c>, ONNX SoftmaxCrossEntropyLoss).
/// Target values are data: out-of-range targets are reported by the kernel.
/// </summary>
public sealed class CrossEntropyOp : Op<CrossEntropyAttrs>
{
    internal CrossEntropyOp() : base("cross_entropy") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, CrossEntropyAttrs attrs)
    {
        if (inputs.Length is not (2 or 3)) throw Fail(inputs, $"expects logits, targets and optional class weights, got {inputs.Length} operands");
        TensorSpec z = inputs[0], t = inputs[1];
        if (!z.DType.IsFloating()) throw Fail(inputs, "scores must be floating");
        if (z.Shape.Rank != 2) throw Fail(inputs, $"expects [N, C] scores, got rank {z.Shape.Rank}");
        if (t.DType != DType.Int64) throw Fail(inputs, "targets must be int64 class indices");
        if (t.Shape.Rank != 1 || t.Shape[0] != z.Shape[0]) throw Fail(inputs, $"targets must be [N] = [{z.Shape[0]}]");
        if (inputs.Length == 3 && (inputs[2].DType != z.DType || inputs[2].Shape.Rank != 1 || inputs[2].Shape[0] != z.Shape[1]))
            throw Fail(inputs, $"class weights must be {z.DType.Name()}[{z.Shape[1]}]");
        if (!(attrs.LabelSmoothing is >= 0 and <= 1)) throw Fail(inputs, $"label smoothing {attrs.LabelSmoothing} must be in [0, 1]");
        return One(attrs.Reduction == Reduction.None ? new Shape(z.Shape[0]) : Shape.Scalar, z.DType);
    }

    /// <summary>
    /// d/dz = s·(softmax(z)·Σ_c q_c − q), where q_ic = valid_i·((1−ε)·w_yᵢ·[c = yᵢ] + ε/C·w_c) is the weighted target
    /// distribution and s the upstream gradient (divided by Σ_i w_yᵢ·valid_i for the mean).
    /// </summary>
    public override Tensor?[] Gradient(GradContext ctx)
    {
        var grads = new Tensor?[ctx.Inputs.Count];
        // Class weights are constants, as in libtorch (which refuses weights that require grad).
        if (!ctx.NeedsGrad(0)) return grads;
        var a = ctx.AttrsAs<CrossEntropyAttrs>();
        Tensor z = ctx.Inputs[0], t = ctx.Inputs[1];
        Tensor? w = ctx.Inputs.Count == 3 ? ctx.Inputs[2] : null;
        long c = z.Shape[1];
        double eps = a.LabelSmoothing;
        var ignored = Equal(t, (double)a.IgnoreIndex);
        var valid = Unsqueeze(Cast(LogicalNot(ignored), z.DType), 1);              // [N, 1]
        var onehot = OneHot(Where(ignored, ZerosLike(t), t), c, z.DType);          // [N, C]
        var wy = w == null ? valid : Mul(Sum(Mul(onehot, w), 1, keepDims: true), valid); // [N, 1]
        var q = Mul(onehot, Mul(wy, 1 - eps));
        if (eps > 0) q = Add(q, Mul(w == null ? valid : Mul(valid, w), eps / c));
        var d = Sub(Mul(Softmax(z, 1), Sum(q, 1, keepDims: true)), q);
        var g = ctx.Grad;
        grads[0] = a.Reduction switch
        {
            Reduction.None => Mul(d, Unsqueeze(g, 1)),
            Reduction.Sum => Mul(d, g),
            _ => Mul(d, Div(g, Sum(wy))),
        };
        return grads;
    }
}

public static partial class OpSet
{
    /// <summary>Fused cross-entropy on logits.</summary>
    public static readonly CrossEntropyOp CrossEntropy = new();
}
