namespace DualFramework.NN;

/// <summary>
/// Shared implementation of <see cref="BatchNorm1d"/> and <see cref="BatchNorm2d"/> (PyTorch's <c>_BatchNorm</c>).
/// State: parameters <c>weight</c> (ones) and <c>bias</c> (zeros) <c>[C]</c> when affine; buffers <c>running_mean</c>
/// (zeros), <c>running_var</c> (ones) <c>[C]</c> and <c>num_batches_tracked</c> (int64 scalar 0) when tracking running
/// statistics. No random draws.
/// </summary>
/// <remarks>
/// Training normalises with the batch mean and biased batch variance; with tracking it then replaces the buffers
/// (functionally, via <see cref="Variable.Assign"/>) by <c>(1 − m)·running + m·batch</c>, using the UNBIASED batch variance,
/// where m is <see cref="Momentum"/> or, when that is null, 1/num_batches_tracked (a cumulative average), and adds 1 to
/// <c>num_batches_tracked</c>. Evaluation normalises with the running statistics, or with batch statistics when they are
/// not tracked.
/// </remarks>
public abstract class BatchNormBase : Module
{
    private readonly string _layer;

    private protected BatchNormBase(string layer, long numFeatures, double eps, double? momentum, bool affine, bool trackRunningStats)
    {
        _layer = layer;
        NumFeatures = LayerChecks.Positive(layer, "num_features", numFeatures);
        Eps = LayerChecks.PositiveFinite(layer, "eps", eps);
        if (momentum is { } m) LayerChecks.Probability(layer, "momentum", m);
        Momentum = momentum;
        var c = new Shape(numFeatures);
        if (affine)
        {
            Weight = RegisterParameter("weight", Ops.Ones(c));
            Bias = RegisterParameter("bias", Ops.Zeros(c));
        }
        if (trackRunningStats)
        {
            RunningMean = RegisterBuffer("running_mean", Ops.Zeros(c));
            RunningVar = RegisterBuffer("running_var", Ops.Ones(c));
            NumBatchesTracked = RegisterBuffer("num_batches_tracked", Ops.Zeros(Shape.Scalar, DType.Int64));
        }
    }

    /// <summary>Number of channels C.</summary>
    public long NumFeatures { get; }

    /// <summary>Added to the variance for stability.</summary>
    public double Eps { get; }

    /// <summary>Weight of the new batch in the running-statistics update; null for a cumulative moving average.</summary>
    public double? Momentum { get; }

    /// <summary>True when the layer has a learnable scale and shift.</summary>
    public bool Affine => Weight != null;

    /// <summary>True when the layer keeps running statistics.</summary>
    public bool TrackRunningStats => RunningMean != null;

    /// <summary>Scale γ <c>[C]</c>, or null.</summary>
    public Variable? Weight { get; }

    /// <summary>Shift β <c>[C]</c>, or null.</summary>
    public Variable? Bias { get; }

    /// <summary>Running mean <c>[C]</c>, or null.</summary>
    public Variable? RunningMean { get; }

    /// <summary>Running (unbiased) variance <c>[C]</c>, or null.</summary>
    public Variable? RunningVar { get; }

    /// <summary>Number of training batches seen (int64 scalar), or null.</summary>
    public Variable? NumBatchesTracked { get; }

    /// <summary>Checks the input's rank (the channel count is checked by the base).</summary>
    private protected abstract void CheckRank(Tensor x);

    /// <summary>Normalises <c>[N, C, …]</c> per channel.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckRank(input);
        if (input.Shape[1] != NumFeatures)
            throw LayerChecks.InputError(_layer, input, $"expects {NumFeatures} channels (axis 1), got shape {input.Shape}");
        bool batchStats = Training || !TrackRunningStats;
        if (batchStats && input.NumElements / NumFeatures <= 1)
            throw LayerChecks.InputError(_layer, input, $"expected more than 1 value per channel when using batch statistics, got shape {input.Shape}");
        var w = Weight?.Value;
        var b = Bias?.Value;
        if (!TrackRunningStats) return Ops.BatchNorm(input, w, b, null, null, training: true, Eps);
        if (!Training) return Ops.BatchNorm(input, w, b, RunningMean!.Value, RunningVar!.Value, training: false, Eps);

        NumBatchesTracked!.Assign(Ops.Add(NumBatchesTracked.Value, 1));
        // PyTorch's momentum=None: the factor 1/t makes the running statistics the plain average of all batches so far.
        double factor = Momentum ?? 1.0 / NumBatchesTracked.Value.Item();
        var y = Ops.BatchNorm(input, w, b, RunningMean!.Value, RunningVar!.Value, training: true, factor, Eps,
            out var newMean, out var newVar);
        RunningMean.Assign(newMean);
        RunningVar.Assign(newVar);
        return y;
    }
}

/// <summary>Batch normalisation of <c>[N, C]</c> or <c>[N, C, L]</c> (PyTorch's <c>nn.BatchNorm1d</c>); see
/// <see cref="BatchNormBase"/>.</summary>
public sealed class BatchNorm1d : BatchNormBase
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numFeatures">Channels C.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="momentum">Running-statistics momentum; null for a cumulative average.</param>
    /// <param name="affine">Learn a per-channel scale and shift.</param>
    /// <param name="trackRunningStats">Keep running statistics for evaluation.</param>
    public BatchNorm1d(long numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
        : base(nameof(BatchNorm1d), numFeatures, eps, momentum, affine, trackRunningStats) { }

    private protected override void CheckRank(Tensor x)
    {
        if (x.Rank is not (2 or 3))
            throw LayerChecks.InputError(nameof(BatchNorm1d), x, $"expects a rank-2 [N, C] or rank-3 [N, C, L] input, got rank {x.Rank}");
    }
}

/// <summary>Batch normalisation of <c>[N, C, H, W]</c> (PyTorch's <c>nn.BatchNorm2d</c>); see <see cref="BatchNormBase"/>.</summary>
public sealed class BatchNorm2d : BatchNormBase
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numFeatures">Channels C.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="momentum">Running-statistics momentum; null for a cumulative average.</param>
    /// <param name="affine">Learn a per-channel scale and shift.</param>
    /// <param name="trackRunningStats">Keep running statistics for evaluation.</param>
    public BatchNorm2d(long numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
        : base(nameof(BatchNorm2d), numFeatures, eps, momentum, affine, trackRunningStats) { }

    private protected override void CheckRank(Tensor x)
    {
        if (x.Rank != 4)
            throw LayerChecks.InputError(nameof(BatchNorm2d), x, $"expects a rank-4 [N, C, H, W] input, got rank {x.Rank}");
    }
}

/// <summary>
/// Layer normalisation over the trailing <see cref="NormalizedShape"/> axes (PyTorch's <c>nn.LayerNorm</c>). Parameters
/// <c>weight</c> (ones) and <c>bias</c> (zeros) of that shape when elementwise-affine. No random draws.
/// </summary>
public sealed class LayerNorm : Module
{
    /// <summary>Normalises over the last axis of size <paramref name="normalizedShape"/>.</summary>
    /// <param name="normalizedShape">Size of the last axis.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="elementwiseAffine">Learn an elementwise scale (and shift, see <paramref name="bias"/>).</param>
    /// <param name="bias">With <paramref name="elementwiseAffine"/>, also learn the shift.</param>
    public LayerNorm(long normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true)
        : this([normalizedShape], eps, elementwiseAffine, bias) { }

    /// <summary>Normalises over the trailing axes of shape <paramref name="normalizedShape"/>.</summary>
    /// <param name="normalizedShape">Sizes of the trailing axes.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="elementwiseAffine">Learn an elementwise scale (and shift, see <paramref name="bias"/>).</param>
    /// <param name="bias">With <paramref name="elementwiseAffine"/>, also learn the shift.</param>
    public LayerNorm(long[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0)
            throw new ArgumentException($"{nameof(LayerNorm)}: normalized_shape must have at least one dimension.", nameof(normalizedShape));
        foreach (var d in normalizedShape) LayerChecks.Positive(nameof(LayerNorm), "normalized_shape", d);
        NormalizedShape = new Shape((long[])normalizedShape.Clone());
        Eps = LayerChecks.PositiveFinite(nameof(LayerNorm), "eps", eps);
        if (elementwiseAffine)
        {
            Weight = RegisterParameter("weight", Ops.Ones(NormalizedShape));
            if (bias) Bias = RegisterParameter("bias", Ops.Zeros(NormalizedShape));
        }
    }

    /// <summary>The normalised trailing shape.</summary>
    public Shape NormalizedShape { get; }

    /// <summary>Added to the variance.</summary>
    public double Eps { get; }

    /// <summary>Elementwise scale, or null.</summary>
    public Variable? Weight { get; }

    /// <summary>Elementwise shift, or null.</summary>
    public Variable? Bias { get; }

    /// <summary>Normalises each slice over the trailing axes (biased variance).</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int k = NormalizedShape.Rank;
        if (input.Rank < k || !input.Shape.Dims[(input.Rank - k)..].SequenceEqual(NormalizedShape.Dims))
            throw LayerChecks.InputError(nameof(LayerNorm), input, $"expects trailing dimensions {NormalizedShape}, got shape {input.Shape}");
        return Ops.LayerNorm(input, NormalizedShape, Weight?.Value, Bias?.Value, Eps);
    }
}
