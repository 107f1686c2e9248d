namespace DualFramework.Losses;

/// <summary>How per-element losses are combined.</summary>
public enum Reduction
{
    /// <summary>Average (weighted where the loss has weights).</summary>
    Mean,
    /// <summary>Sum.</summary>
    Sum,
    /// <summary>No reduction: one value per sample/element.</summary>
    None,
}

/// <summary>Loss functions written with <see cref="Ops"/> (PyTorch's definitions), so they run and differentiate on every backend.</summary>
public static class LossFunctions
{
    private static Tensor Reduce(Tensor perElement, Reduction r) => r switch
    {
        Reduction.Mean => Ops.Mean(perElement),
        Reduction.Sum => Ops.Sum(perElement),
        _ => perElement,
    };

    private static bool BroadcastsTo(Shape from, Shape to) => Shape.TryBroadcast(from, to, out var r) && r == to;

    private static void SameShape(string loss, Tensor a, Tensor b)
    {
        if (a.Shape != b.Shape)
            throw new OpException(loss, [a.Spec, b.Spec], $"prediction {a.Shape} and target {b.Shape} must have the same shape", LayerPath.Current);
    }

    /// <summary>
    /// Cross-entropy between logits <c>[N, C]</c> and integer class targets <c>[N]</c>, with optional class weights
    /// <c>[C]</c>, an ignored target value, and label smoothing ε (targets become (1−ε)·onehot + ε/C).
    /// The mean is weighted: Σ wᵧ·lᵢ / Σ wᵧ over non-ignored samples (as PyTorch).
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor targets, Tensor? weight = null, long ignoreIndex = -100,
        double labelSmoothing = 0, Reduction reduction = Reduction.Mean)
    {
        if (!(labelSmoothing is >= 0 and <= 1)) // NaN fails too
            throw new OpException("cross_entropy", [logits.Spec, targets.Spec], $"label smoothing {labelSmoothing} must be in [0, 1]", LayerPath.Current);
        Validate("cross_entropy", logits, targets, weight, ignoreIndex, checkTargetValues: false);
        return Ops.CrossEntropy(logits, targets, weight, ignoreIndex, labelSmoothing, reduction);
    }

    /// <summary>Negative log-likelihood of log-probabilities <c>[N, C]</c> at integer targets <c>[N]</c> (see <see cref="CrossEntropy"/>).</summary>
    public static Tensor Nll(Tensor logProbs, Tensor targets, Tensor? weight = null, long ignoreIndex = -100, Reduction reduction = Reduction.Mean)
    {
        Validate("nll", logProbs, targets, weight, ignoreIndex);
        return NllCore(logProbs, targets, weight, ignoreIndex, 0, reduction);
    }

    private static void Validate(string name, Tensor logp, Tensor targets, Tensor? weight, long ignoreIndex, bool checkTargetValues = true)
    {
        if (!logp.DType.IsFloating()) throw new OpException(name, [logp.Spec, targets.Spec], "scores must be floating", LayerPath.Current);
        if (logp.Rank != 2) throw new OpException(name, [logp.Spec, targets.Spec], $"expects [N, C] scores, got rank {logp.Rank}", LayerPath.Current);
        if (targets.Rank != 1 || targets.Shape[0] != logp.Shape[0])
            throw new OpException(name, [logp.Spec, targets.Spec], $"targets must be [N] = [{logp.Shape[0]}]", LayerPath.Current);
        if (!targets.DType.IsInteger()) throw new OpException(name, [logp.Spec, targets.Spec], "targets must be integer class indices", LayerPath.Current);
        long c = logp.Shape[1];
        if (weight != null && (weight.Rank != 1 || weight.Shape[0] != c))
            throw new OpException(name, [logp.Spec, targets.Spec, weight.Spec], $"class weights must be [C] = [{c}]", LayerPath.Current);
        if (checkTargetValues) CheckTargets(name, logp, targets, c, ignoreIndex);
    }

    private static Tensor NllCore(Tensor logp, Tensor targets, Tensor? weight, long ignoreIndex, double eps, Reduction reduction)
    {
        long c = logp.Shape[1];
        var ignored = Ops.Equal(targets, (double)ignoreIndex);
        var safe = Ops.Where(ignored, Ops.ZerosLike(targets), targets);
        var onehot = Ops.OneHot(safe, c, logp.DType);
        var valid = Ops.Cast(Ops.LogicalNot(ignored), logp.DType);
        var picked = Ops.Neg(Ops.Sum(Ops.Mul(onehot, logp), 1));
        var wy = weight == null ? valid : Ops.Mul(Ops.Sum(Ops.Mul(onehot, Ops.Cast(weight, logp.DType)), 1), valid);
        var nll = Ops.Mul(picked, wy);
        Tensor? smooth = null;
        if (eps > 0)
        {
            var weighted = weight == null ? logp : Ops.Mul(logp, Ops.Cast(weight, logp.DType));
            smooth = Ops.Mul(Ops.Neg(Ops.Sum(weighted, 1)), valid);
        }
        Tensor Combine(Tensor n, Tensor? s) => s == null ? n : Ops.Add(Ops.Mul(n, 1 - eps), Ops.Mul(s, eps / c));
        return reduction switch
        {
            Reduction.None => Combine(nll, smooth),
            Reduction.Sum => Combine(Ops.Sum(nll), smooth == null ? null : Ops.Sum(smooth)),
            _ => Ops.Div(Combine(Ops.Sum(nll), smooth == null ? null : Ops.Sum(smooth)), Ops.Sum(wy)),
        };
    }

    // Out-of-range class indices would otherwise reach libtorch's one_hot (or silently pick nothing on other backends),
    // so they are checked on the host, as PyTorch's CPU kernels do.
    private static void CheckTargets(string name, Tensor logp, Tensor targets, long c, long ignoreIndex)
    {
        if (targets.NumElements == 0) return;
        long[] values;
        using (var scope = TensorScope.Begin())
            values = targets.DType == DType.Int64 ? targets.ToArray<long>() : Ops.Cast(targets, DType.Int64).ToArray<long>();
        foreach (var v in values)
            if (v != ignoreIndex && (v < 0 || v >= c))
                throw new OpException(name, [logp.Spec, targets.Spec], $"target {v} out of range [0, {c}) (ignore_index is {ignoreIndex})", LayerPath.Current);
    }

    /// <summary>Mean squared error.</summary>
    public static Tensor Mse(Tensor prediction, Tensor target, Reduction reduction = Reduction.Mean)
    {
        SameShape("mse", prediction, target);
        var d = Ops.Sub(prediction, target);
        return Reduce(Ops.Mul(d, d), reduction);
    }

    /// <summary>Mean absolute error.</summary>
    public static Tensor L1(Tensor prediction, Tensor target, Reduction reduction = Reduction.Mean)
    {
        SameShape("l1", prediction, target);
        return Reduce(Ops.Abs(Ops.Sub(prediction, target)), reduction);
    }

    /// <summary>Huber loss: ½d² where |d| ≤ δ, δ(|d| − ½δ) elsewhere.</summary>
    public static Tensor Huber(Tensor prediction, Tensor target, double delta = 1.0, Reduction reduction = Reduction.Mean)
    {
        SameShape("huber", prediction, target);
        if (!(delta > 0)) throw new OpException("huber", [prediction.Spec, target.Spec], $"delta {delta} must be positive", LayerPath.Current);
        var d = Ops.Sub(prediction, target);
        var a = Ops.Abs(d);
        var quadratic = Ops.Mul(Ops.Mul(d, d), 0.5);
        var linear = Ops.Mul(Ops.Sub(a, 0.5 * delta), delta);
        return Reduce(Ops.Where(Ops.LessEqual(a, delta), quadratic, linear), reduction);
    }

    /// <summary>
    /// Binary cross-entropy on logits, numerically stable: (1 − y)·x + (1 + (w⁺ − 1)·y)·softplus(−x), with optional
    /// positive-class weight w⁺ and per-element weights, each broadcast to the logits' shape (usually <c>[C]</c> over the last axis).
    /// </summary>
    public static Tensor BceWithLogits(Tensor logits, Tensor targets, Tensor? posWeight = null, Tensor? weight = null, Reduction reduction = Reduction.Mean)
    {
        SameShape("bce_with_logits", logits, targets);
        if (!logits.DType.IsFloating())
            throw new OpException("bce_with_logits", [logits.Spec, targets.Spec], "logits must be floating", LayerPath.Current);
        // Weights must broadcast to the loss without enlarging it; they are cast so the loss keeps the logits' dtype.
        if (posWeight != null)
        {
            if (!BroadcastsTo(posWeight.Shape, logits.Shape))
                throw new OpException("bce_with_logits", [logits.Spec, targets.Spec, posWeight.Spec], $"pos_weight {posWeight.Shape} must broadcast to {logits.Shape}", LayerPath.Current);
            posWeight = Ops.Cast(posWeight, logits.DType);
        }
        if (weight != null)
        {
            if (!BroadcastsTo(weight.Shape, logits.Shape))
                throw new OpException("bce_with_logits", [logits.Spec, targets.Spec, weight.Spec], $"weight {weight.Shape} must broadcast to {logits.Shape}", LayerPath.Current);
            weight = Ops.Cast(weight, logits.DType);
        }
        var y = Ops.Cast(targets, logits.DType);
        var sp = Ops.Softplus(Ops.Neg(logits));
        var logWeight = posWeight == null ? null : Ops.RAdd(1.0, Ops.Mul(Ops.Sub(posWeight, 1.0), y));
        var loss = Ops.Add(Ops.Mul(Ops.RSub(1.0, y), logits), logWeight == null ? sp : Ops.Mul(logWeight, sp));
        if (weight != null) loss = Ops.Mul(loss, weight);
        return Reduce(loss, reduction);
    }
}
