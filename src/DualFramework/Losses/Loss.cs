namespace DualFramework.Losses;

/// <summary>A loss as an object (for <c>Trainer.Compile</c>): maps (prediction, target) to a scalar (or per-sample values).</summary>
public abstract class Loss
{
    /// <summary>Name used in logs and histories.</summary>
    public abstract string Name { get; }

    /// <summary>Computes the loss.</summary>
    public abstract Tensor Compute(Tensor prediction, Tensor target);
}

/// <summary>Cross-entropy on logits and integer targets (see <see cref="LossFunctions.CrossEntropy"/>).</summary>
public sealed class CrossEntropyLoss(Tensor? weight = null, long ignoreIndex = -100, double labelSmoothing = 0, Reduction reduction = Reduction.Mean) : Loss
{
    /// <inheritdoc />
    public override string Name => "cross_entropy";
    /// <inheritdoc />
    public override Tensor Compute(Tensor prediction, Tensor target) =>
        LossFunctions.CrossEntropy(prediction, target, weight, ignoreIndex, labelSmoothing, reduction);
}

/// <summary>Negative log-likelihood on log-probabilities.</summary>
public sealed class NllLoss(Tensor? weight = null, long ignoreIndex = -100, Reduction reduction = Reduction.Mean) : Loss
{
    /// <inheritdoc />
    public override string Name => "nll";
    /// <inheritdoc />
    public override Tensor Compute(Tensor prediction, Tensor target) => LossFunctions.Nll(prediction, target, weight, ignoreIndex, reduction);
}

/// <summary>Mean squared error.</summary>
public sealed class MseLoss(Reduction reduction = Reduction.Mean) : Loss
{
    /// <inheritdoc />
    public override string Name => "mse";
    /// <inheritdoc />
    public override Tensor Compute(Tensor prediction, Tensor target) => LossFunctions.Mse(prediction, target, reduction);
}

/// <summary>Mean absolute error.</summary>
public sealed class L1Loss(Reduction reduction = Reduction.Mean) : Loss
{
    /// <inheritdoc />
    public override string Name => "l1";
    /// <inheritdoc />
    public override Tensor Compute(Tensor prediction, Tensor target) => LossFunctions.L1(prediction, target, reduction);
}

/// <summary>Huber loss.</summary>
public sealed class HuberLoss(double delta = 1.0, Reduction reduction = Reduction.Mean) : Loss
{
    /// <inheritdoc />
    public override string Name => "huber";
    /// <inheritdoc />
    public override Tensor Compute(Tensor prediction, Tensor target) => LossFunctions.Huber(prediction, target, delta, reduction);
}

/// <summary>Binary cross-entropy on logits (see <see cref="LossFunctions.BceWithLogits"/>), with optional positive-class
/// weight and per-element weight (both broadcast to the prediction's shape).</summary>
public sealed class BceWithLogitsLoss(Tensor? posWeight = null, Reduction reduction = Reduction.Mean, Tensor? weight = null) : Loss
{
    /// <inheritdoc />
    public override string Name => "bce_with_logits";
    /// <inheritdoc />
    public override Tensor Compute(Tensor prediction, Tensor target) => LossFunctions.BceWithLogits(prediction, target, posWeight, weight, reduction);
}
