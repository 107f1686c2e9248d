using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    private static OpException NormError(string op, Tensor x, string reason) => new(op, [x.Spec], reason, LayerPath.Current);

    // Common floating dtype of the operands present (integer inputs compute in the default float).
    private static DType FloatingOf(Tensor x, params Tensor?[] others)
    {
        var dt = x.DType;
        foreach (var t in others)
            if (t != null) dt = DTypes.Promote(dt, t.DType);
        return DTypes.ToFloating(dt);
    }

    /// <summary>
    /// Batch normalisation of <paramref name="x"/> (<c>[N, C, …]</c>, rank 2 to 5) over every axis but the channel axis 1.
    /// Training: normalises with the batch mean and biased batch variance. Inference: with <paramref name="runningMean"/>
    /// and <paramref name="runningVar"/> (required then; optional in training). <paramref name="gamma"/> defaults to ones,
    /// <paramref name="beta"/> to zeros. See the overload with <c>out</c> parameters for the running-statistics update.
    /// </summary>
    public static Tensor BatchNorm(Tensor x, Tensor? gamma, Tensor? beta, Tensor? runningMean, Tensor? runningVar, bool training, double eps = 1e-5) =>
        BatchNormCore(x, gamma, beta, runningMean, runningVar, training, eps)[0];

    /// <summary>
    /// Batch normalisation that also returns the updated running statistics, functionally (as PyTorch's <c>BatchNorm</c>
    /// module in place): in training, <c>newRunningMean = (1 − momentum)·runningMean + momentum·μ_B</c> and
    /// <c>newRunningVar = (1 − momentum)·runningVar + momentum·σ²_B,unbiased</c>, without gradient and in the dtypes of the
    /// running statistics; in inference the running statistics are returned unchanged (the same tensors).
    /// </summary>
    /// <returns>The normalised output.</returns>
    public static Tensor BatchNorm(Tensor x, Tensor? gamma, Tensor? beta, Tensor runningMean, Tensor runningVar, bool training, double momentum, double eps,
        out Tensor newRunningMean, out Tensor newRunningVar)
    {
        ArgumentNullException.ThrowIfNull(runningMean);
        ArgumentNullException.ThrowIfNull(runningVar);
        if (!(momentum >= 0 && momentum <= 1)) throw NormError("batch_norm", x, $"momentum must be in [0, 1], got {momentum}");
        var outs = BatchNormCore(x, gamma, beta, runningMean, runningVar, training, eps);
        if (!training)
        {
            newRunningMean = runningMean;
            newRunningVar = runningVar;
            return outs[0];
        }
        newRunningMean = UpdateStat(runningMean, outs[1], momentum);
        newRunningVar = UpdateStat(runningVar, outs[2], momentum);
        return outs[0];
    }

    private static Tensor UpdateStat(Tensor running, Tensor batch, double momentum)
    {
        var old = StopGradient(CastTo(running, batch.DType));
        var updated = Add(Mul(old, 1 - momentum), Mul(StopGradient(batch), momentum));
        return CastTo(updated, running.DType);
    }

    private static Tensor[] BatchNormCore(Tensor x, Tensor? gamma, Tensor? beta, Tensor? runningMean, Tensor? runningVar, bool training, double eps)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank is < 2 or > 5) throw NormError("batch_norm", x, $"input must have rank 2 to 5 ([N, C, ...]), got rank {x.Rank}");
        if (!training && (runningMean == null || runningVar == null))
            throw NormError("batch_norm", x, "inference mode needs running_mean and running_var");
        var dt = FloatingOf(x, gamma, beta, runningMean, runningVar);
        var c = new Shape(x.Shape[1]);
        Tensor P(Tensor? t, double fill) => t == null ? Full(c, fill, dt, x.Backend) : CastTo(t, dt);
        // Training without running statistics: placeholders, the op ignores their values then.
        return Dispatcher.ApplyMulti(OpSet.BatchNorm, new BatchNormAttrs(training, eps),
            CastTo(x, dt), P(gamma, 1), P(beta, 0), P(runningMean, 0), P(runningVar, 1));
    }

    /// <summary>
    /// The raw batch_norm op: <c>(y, mean, var)</c> where, in training, mean and var are the batch mean and the UNBIASED
    /// batch variance per channel, and in inference the running statistics (see <see cref="BatchNormOp"/>).
    /// </summary>
    public static (Tensor Output, Tensor Mean, Tensor Variance) BatchNormWithStats(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, bool training, double eps = 1e-5)
    {
        var o = BatchNormCore(x, gamma, beta, runningMean, runningVar, training, eps);
        return (o[0], o[1], o[2]);
    }

    /// <summary>
    /// Layer normalisation over the last <paramref name="normalizedRank"/> axes of <paramref name="x"/>, with optional
    /// elementwise <paramref name="weight"/> and <paramref name="bias"/> of shape <c>x.shape[-normalizedRank:]</c>.
    /// </summary>
    public static Tensor LayerNorm(Tensor x, int normalizedRank, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (normalizedRank < 1 || normalizedRank > x.Rank)
            throw NormError("layer_norm", x, $"normalized rank {normalizedRank} must be between 1 and the input rank {x.Rank}");
        var dt = FloatingOf(x, weight, bias);
        var inputs = new List<Tensor> { CastTo(x, dt) };
        if (weight != null) inputs.Add(CastTo(weight, dt));
        if (bias != null) inputs.Add(CastTo(bias, dt));
        return Apply(OpSet.LayerNorm, new LayerNormAttrs(normalizedRank, eps, weight != null, bias != null), inputs.ToArray());
    }

    /// <summary>Layer normalisation over trailing axes given by their shape (PyTorch's <c>normalized_shape</c>), which must
    /// equal the last dimensions of <paramref name="x"/>.</summary>
    public static Tensor LayerNorm(Tensor x, Shape normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(x);
        int k = normalizedShape.Rank;
        if (k < 1 || k > x.Rank || !x.Shape.Dims[(x.Rank - k)..].SequenceEqual(normalizedShape.Dims))
            throw NormError("layer_norm", x, $"normalized shape {normalizedShape} does not match the trailing dimensions of the input");
        return LayerNorm(x, k, weight, bias, eps);
    }

    /// <summary>
    /// Dropout: in training, zeroes each element with probability <paramref name="p"/> and scales the others by
    /// 1/(1 − p), with a mask drawn from the next seed of <paramref name="generator"/>. Returns <paramref name="x"/> itself
    /// (and draws no seed) when not training or when p = 0; all zeros when p = 1.
    /// </summary>
    public static Tensor Dropout(Tensor x, double p, bool training, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(generator);
        CheckDropout(x, p);
        if (!training || p == 0) return x;
        return DropoutWithMask(x, p, generator.NextSeed()).Output;
    }

    /// <summary>The dropout op for an explicit op seed, returning the output and the bool keep mask.</summary>
    public static (Tensor Output, Tensor Mask) DropoutWithMask(Tensor x, double p, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckDropout(x, p);
        var o = Dispatcher.ApplyMulti(OpSet.Dropout, new DropoutAttrs(p, seed), x);
        return (o[0], o[1]);
    }

    private static void CheckDropout(Tensor x, double p)
    {
        if (!(p >= 0 && p <= 1)) throw NormError("dropout", x, $"probability p must be in [0, 1], got {p}");
        if (!x.DType.IsFloating()) throw NormError("dropout", x, $"needs a floating input, got {x.DType.Name()}");
    }
}
