using DualFramework.Autodiff;
using static DualFramework.Ops;

namespace DualFramework.Operators;

/// <summary>Batch normalisation mode and epsilon.</summary>
/// <param name="Training">True: normalise with the batch statistics; false: with the running statistics.</param>
/// <param name="Eps">Added to the variance before the square root (≥ 0).</param>
public sealed record BatchNormAttrs(bool Training, double Eps) : OpAttrs;

/// <summary>
/// <c>batch_norm(x, gamma, beta, running_mean, running_var)</c> over the channel axis 1 of an input of rank 2 to 5
/// (<c>[N, C, …]</c>); every operand has x's floating dtype and the four parameters have shape <c>[C]</c>.
/// Outputs <c>(y, mean, var)</c>: in training mode <c>y = (x − μ_B)/√(σ²_B + eps)·γ + β</c> with the batch mean μ_B and
/// the biased batch variance σ²_B over all axes but 1, and the outputs 1 and 2 are μ_B and the UNBIASED batch variance
/// (what PyTorch folds into running_var); in inference mode y uses running_mean/running_var and the outputs 1 and 2 are
/// those running statistics unchanged. Outputs 1 and 2 carry no gradient; nor do the running statistics.
/// </summary>
public sealed class BatchNormOp : Op<BatchNormAttrs>
{
    internal BatchNormOp() : base("batch_norm") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, BatchNormAttrs attrs)
    {
        Arity(inputs, 5);
        var x = inputs[0];
        if (x.Shape.Rank is < 2 or > 5) throw Fail(inputs, $"input must have rank 2 to 5 ([N, C, ...]), got rank {x.Shape.Rank}");
        if (!x.DType.IsFloating()) throw Fail(inputs, $"needs a floating input, got {x.DType.Name()}");
        if (!double.IsFinite(attrs.Eps) || attrs.Eps < 0) throw Fail(inputs, $"eps must be finite and non-negative, got {attrs.Eps}");
        long c = x.Shape[1];
        string[] names = ["gamma", "beta", "running_mean", "running_var"];
        for (int i = 1; i < 5; i++)
        {
            if (inputs[i].DType != x.DType) throw Fail(inputs, $"{names[i - 1]} has dtype {inputs[i].DType.Name()}, the input {x.DType.Name()}");
            if (inputs[i].Shape.Rank != 1 || inputs[i].Shape[0] != c) throw Fail(inputs, $"{names[i - 1]} must have shape [{c}] (the channel count), got {inputs[i].Shape}");
        }
        if (attrs.Training && x.Shape.NumElements / Math.Max(c, 1) <= 1)
            throw Fail(inputs, "expected more than 1 value per channel when training");
        var stat = new TensorSpec(Shape.Own([c]), x.DType);
        return [x, stat, stat];
    }

    /// <summary>Every axis but the channel axis.</summary>
    internal static int[] StatAxes(int rank) => Enumerable.Range(0, rank).Where(a => a != 1).ToArray();

    /// <summary>A <c>[C]</c> vector reshaped to broadcast along axis 1 of a rank-<paramref name="rank"/> tensor.</summary>
    internal static Tensor PerChannel(Tensor v, int rank)
    {
        var dims = Enumerable.Repeat(1L, rank).ToArray();
        dims[1] = v.Shape[0];
        return Reshape(v, dims);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        var a = ctx.AttrsAs<BatchNormAttrs>();
        Tensor x = ctx.Inputs[0], gamma = ctx.Inputs[1], g = ctx.Grad;
        int rank = x.Rank;
        var axes = StatAxes(rank);
        var gammaC = PerChannel(gamma, rank);
        Tensor xhat;
        Tensor? dx = null;
        if (a.Training)
        {
            // Recomputed from x with ops (not taken from the detached stat outputs) so the rule stays differentiable.
            var (xh, rstd) = NormGrad.Standardize(x, axes, a.Eps);
            xhat = xh;
            if (ctx.NeedsGrad(0)) dx = NormGrad.InputGrad(Mul(g, gammaC), xhat, rstd, axes);
        }
        else
        {
            var rstd = Rsqrt(Add(PerChannel(ctx.Inputs[4], rank), a.Eps));
            xhat = Mul(Sub(x, PerChannel(ctx.Inputs[3], rank)), rstd);
            if (ctx.NeedsGrad(0)) dx = Mul(g, Mul(gammaC, rstd));
        }
        return
        [
            dx,
            ctx.NeedsGrad(1) ? Sum(Mul(g, xhat), axes) : null,
            ctx.NeedsGrad(2) ? Sum(g, axes) : null,
            null,
            null,
        ];
    }
}

/// <summary>Layer normalisation settings.</summary>
/// <param name="NormalizedRank">How many trailing axes are normalised together (1 ≤ k ≤ rank).</param>
/// <param name="Eps">Added to the variance before the square root (≥ 0).</param>
/// <param name="HasWeight">True when operand 1 is an elementwise scale of the normalised shape.</param>
/// <param name="HasBias">True when the last operand is an elementwise shift of the normalised shape.</param>
public sealed record LayerNormAttrs(int NormalizedRank, double Eps, bool HasWeight, bool HasBias) : OpAttrs;

/// <summary>
/// <c>layer_norm(x[, weight][, bias])</c>: <c>(x − μ)/√(σ² + eps)</c> with mean and biased variance over the last
/// <c>NormalizedRank</c> axes, then scaled by weight and shifted by bias (both of shape <c>x.shape[-k:]</c>) when present.
/// </summary>
public sealed class LayerNormOp : Op<LayerNormAttrs>
{
    internal LayerNormOp() : base("layer_norm") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, LayerNormAttrs attrs)
    {
        Arity(inputs, 1 + (attrs.HasWeight ? 1 : 0) + (attrs.HasBias ? 1 : 0));
        var x = inputs[0];
        if (!x.DType.IsFloating()) throw Fail(inputs, $"needs a floating input, got {x.DType.Name()}");
        int k = attrs.NormalizedRank;
        if (k < 1 || k > x.Shape.Rank) throw Fail(inputs, $"normalized rank {k} must be between 1 and the input rank {x.Shape.Rank}");
        if (!double.IsFinite(attrs.Eps) || attrs.Eps < 0) throw Fail(inputs, $"eps must be finite and non-negative, got {attrs.Eps}");
        var normShape = Shape.Own(x.Shape.Dims[(x.Shape.Rank - k)..].ToArray());
        for (int i = 1; i < inputs.Length; i++)
        {
            string name = i == 1 && attrs.HasWeight ? "weight" : "bias";
            if (inputs[i].DType != x.DType) throw Fail(inputs, $"{name} has dtype {inputs[i].DType.Name()}, the input {x.DType.Name()}");
            if (inputs[i].Shape != normShape) throw Fail(inputs, $"{name} must have the normalized shape {normShape}, got {inputs[i].Shape}");
        }
        return [x];
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        var a = ctx.AttrsAs<LayerNormAttrs>();
        Tensor x = ctx.Inputs[0], g = ctx.Grad;
        var axes = Enumerable.Range(x.Rank - a.NormalizedRank, a.NormalizedRank).ToArray();
        var (xhat, rstd) = NormGrad.Standardize(x, axes, a.Eps);
        var result = new Tensor?[ctx.Inputs.Count];
        if (ctx.NeedsGrad(0)) result[0] = NormGrad.InputGrad(a.HasWeight ? Mul(g, ctx.Inputs[1]) : g, xhat, rstd, axes);
        if (a.HasWeight && ctx.NeedsGrad(1)) result[1] = SumToShape(Mul(g, xhat), ctx.Inputs[1].Shape);
        int b = a.HasWeight ? 2 : 1;
        if (a.HasBias && ctx.NeedsGrad(b)) result[b] = SumToShape(g, ctx.Inputs[b].Shape);
        return result;
    }
}

/// <summary>The drop probability and the op seed of a dropout application.</summary>
/// <param name="P">Probability of zeroing an element, in [0, 1].</param>
/// <param name="Seed">The op seed: the same seed and shape give the same mask on one backend.</param>
public sealed record DropoutAttrs(double P, ulong Seed) : OpAttrs, ISeededAttrs
{
    /// <inheritdoc />
    public OpAttrs WithSeed(ulong seed) => this with { Seed = seed };
}

/// <summary>
/// <c>dropout(x)</c> → <c>(y, mask)</c>: the bool mask keeps each element with probability 1 − p (a pure function of the
/// seed and the shape, independent of x's values and dtype); <c>y = mask ? x/(1 − p) : 0</c> (all zeros for p = 1).
/// The gradient is <c>mask ? g/(1 − p) : 0</c>, using the mask the forward produced.
/// </summary>
public sealed class DropoutOp : Op<DropoutAttrs>
{
    internal DropoutOp() : base("dropout") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, DropoutAttrs attrs)
    {
        Arity(inputs, 1);
        var x = inputs[0];
        if (!x.DType.IsFloating()) throw Fail(inputs, $"needs a floating input, got {x.DType.Name()}");
        if (!(attrs.P >= 0 && attrs.P <= 1)) throw Fail(inputs, $"probability p must be in [0, 1], got {attrs.P}");
        return [x, new TensorSpec(x.Shape, DType.Bool)];
    }

    /// <summary>The factor applied to kept elements (0 when p = 1, where nothing is kept).</summary>
    public static double Scale(double p) => p >= 1 ? 0 : 1 / (1 - p);

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        if (!ctx.NeedsGrad(0)) return [null];
        var g = ctx.Grad;
        var scaled = Mul(g, Scale(ctx.AttrsAs<DropoutAttrs>().P));
        return [Where(ctx.Outputs[1], scaled, ZerosLike(scaled))];
    }
}

/// <summary>Shared pieces of the normalisation gradients.</summary>
internal static class NormGrad
{
    /// <summary>x̂ = (x − mean)·rstd and rstd = 1/√(biased var + eps) over <paramref name="axes"/> (kept as size 1).</summary>
    public static (Tensor xhat, Tensor rstd) Standardize(Tensor x, int[] axes, double eps)
    {
        var xc = Sub(x, Mean(x, axes, keepDims: true));
        var rstd = Rsqrt(Add(Mean(Mul(xc, xc), axes, keepDims: true), eps));
        return (Mul(xc, rstd), rstd);
    }

    /// <summary>The gradient through standardisation: <c>rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))</c> where ĝ is the
    /// gradient with respect to x̂.</summary>
    public static Tensor InputGrad(Tensor gxhat, Tensor xhat, Tensor rstd, int[] axes)
    {
        var m1 = Mean(gxhat, axes, keepDims: true);
        var m2 = Mean(Mul(gxhat, xhat), axes, keepDims: true);
        return Mul(rstd, Sub(Sub(gxhat, m1), Mul(xhat, m2)));
    }
}

public static partial class OpSet
{
    /// <summary>Batch normalisation over axis 1 (training or inference statistics).</summary>
    public static readonly BatchNormOp BatchNorm = new();

    /// <summary>Layer normalisation over trailing axes.</summary>
    public static readonly LayerNormOp LayerNorm = new();

    /// <summary>Seeded dropout, returning the output and the keep mask.</summary>
    public static readonly DropoutOp Dropout = new();
}
