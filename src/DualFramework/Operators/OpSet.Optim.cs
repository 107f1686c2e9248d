namespace DualFramework.Operators;

/// <summary>Constants of one fused Adam update (see <see cref="AdamUpdateOp"/>).</summary>
/// <param name="StepSize">lr / (1 − β₁ᵗ).</param>
/// <param name="Beta1">First-moment decay.</param>
/// <param name="Beta2">Second-moment decay.</param>
/// <param name="SqrtBiasCorrection2">√(1 − β₂ᵗ).</param>
/// <param name="Eps">Denominator term.</param>
/// <param name="InPlace">
/// Allows a backend to write p′, m′, v′ into the storage of p, m, v and return them (as PyTorch's optimizers do). Only the
/// owner of all three may ask for it (an optimizer updating its own variables); the values are the same either way, and
/// graph lowering ignores it.
/// </param>
public sealed record AdamUpdateAttrs(double StepSize, double Beta1, double Beta2, double SqrtBiasCorrection2, double Eps, bool InPlace = false) : OpAttrs;

/// <summary>
/// The Adam update as one op: from (p, g, m, v) computes m′ = β₁m + (1−β₁)g, v′ = β₂v + (1−β₂)g²,
/// p′ = p − step·m′ / (√v′ / √bc₂ + ε); outputs (p′, m′, v′). It exists for speed: the same arithmetic as nine
/// elementwise ops, in about half the memory passes. Not differentiable (optimizers run without gradients).
/// </summary>
public sealed class AdamUpdateOp : Op<AdamUpdateAttrs>
{
    internal AdamUpdateOp() : base("adam_update") { }

    /// <inheritdoc />
    public override bool IsDifferentiable => false;

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, AdamUpdateAttrs attrs)
    {
        Arity(inputs, 4);
        var p = inputs[0];
        if (!p.DType.IsFloating()) throw Fail(inputs, $"parameters must be floating, got {p.DType.Name()}");
        for (int i = 1; i < 4; i++)
            if (inputs[i] != p) throw Fail(inputs, "parameter, gradient and both moments must have the same shape and dtype");
        if (!(attrs.SqrtBiasCorrection2 > 0)) throw Fail(inputs, "the bias correction must be positive (step ≥ 1)");
        return [p, p, p];
    }
}

public static partial class OpSet
{
    /// <summary>Fused Adam update.</summary>
    public static readonly AdamUpdateOp AdamUpdate = new();
}
