using DualFramework.Autodiff;

namespace DualFramework.Training;

/// <summary>A streaming metric: accumulates over batches, reports a value, resets per epoch.</summary>
public abstract class Metric
{
    /// <summary>Name used in logs and histories (e.g. "accuracy").</summary>
    public abstract string Name { get; }

    /// <summary>Forgets everything accumulated.</summary>
    public abstract void Reset();

    /// <summary>Accumulates one batch of predictions (logits or scores) and targets.</summary>
    public abstract void Update(Tensor prediction, Tensor target);

    /// <summary>The value over everything accumulated since the last reset (NaN when empty).</summary>
    public abstract double Result { get; }

    /// <summary>
    /// The accumulated statistics as numbers that add up across data shards (counts, sums): summing them element-wise over
    /// replicas and passing the sums to <see cref="SetSummableState"/> gives the metric of the union of the shards. This is
    /// how distributed training reduces metrics. Metrics without such a form throw <see cref="NotSupportedException"/>.
    /// </summary>
    public virtual double[] GetSummableState() =>
        throw new NotSupportedException($"Metric '{Name}' ({GetType().Name}) cannot be reduced across replicas: override GetSummableState and SetSummableState.");

    /// <summary>Replaces the accumulated statistics with <paramref name="state"/> (see <see cref="GetSummableState"/>).</summary>
    public virtual void SetSummableState(ReadOnlySpan<double> state) =>
        throw new NotSupportedException($"Metric '{Name}' ({GetType().Name}) cannot be reduced across replicas: override GetSummableState and SetSummableState.");

    /// <summary>Checks the length of a state given to <see cref="SetSummableState"/>.</summary>
    protected void CheckStateLength(ReadOnlySpan<double> state, int expected)
    {
        if (state.Length != expected) throw new ArgumentException($"Metric '{Name}' has {expected} state values, got {state.Length}.", nameof(state));
    }
}

/// <summary>A metric that is the fraction of samples that are hits: counts hits and samples (its summable state).</summary>
public abstract class HitRateMetric : Metric
{
    private long _correct, _count;

    /// <summary>Adds <paramref name="hits"/> hits among <paramref name="samples"/> samples.</summary>
    protected void Count(long hits, long samples)
    {
        _correct += hits;
        _count += samples;
    }

    /// <inheritdoc />
    public override void Reset() => _correct = _count = 0;

    /// <inheritdoc />
    public override double Result => _count == 0 ? double.NaN : (double)_correct / _count;

    /// <inheritdoc />
    public override double[] GetSummableState() => [_correct, _count];

    /// <inheritdoc />
    public override void SetSummableState(ReadOnlySpan<double> state)
    {
        CheckStateLength(state, 2);
        (_correct, _count) = ((long)state[0], (long)state[1]);
    }
}

/// <summary>Fraction of samples whose highest score is the target class (scores <c>[N, C]</c>, integer targets <c>[N]</c>).</summary>
public sealed class Accuracy : HitRateMetric
{
    /// <inheritdoc />
    public override string Name => "accuracy";

    /// <inheritdoc />
    public override void Update(Tensor prediction, Tensor target)
    {
        using var s = TensorScope.Begin();
        using var ng = Autograd.NoGrad();
        var hit = Ops.Equal(Ops.ArgMax(prediction, 1), Ops.Cast(target, DType.Int64));
        Count((long)Ops.Sum(Ops.Cast(hit, DType.Int64)).Item(), target.NumElements);
    }
}

/// <summary>Fraction of samples whose target class is among the <see cref="K"/> highest scores
/// (a target tied with others counts as in the top k when fewer than k scores are strictly greater).</summary>
public sealed class TopKAccuracy : HitRateMetric
{
    /// <summary>Creates the metric for top-<paramref name="k"/>.</summary>
    public TopKAccuracy(int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        K = k;
    }

    /// <summary>How many top classes count.</summary>
    public int K { get; }

    /// <inheritdoc />
    public override string Name => $"top{K}_accuracy";

    /// <inheritdoc />
    public override void Update(Tensor prediction, Tensor target)
    {
        using var s = TensorScope.Begin();
        using var ng = Autograd.NoGrad();
        var idx = Ops.Unsqueeze(Ops.Cast(target, DType.Int64), 1);
        var targetScore = Ops.GatherElements(prediction, idx, 1);
        var better = Ops.Sum(Ops.Cast(Ops.Greater(prediction, targetScore), DType.Int64), 1);
        Count((long)Ops.Sum(Ops.Cast(Ops.Less(better, (double)K), DType.Int64)).Item(), target.NumElements);
    }
}

/// <summary>Sample-weighted running mean of a scalar (the loss).</summary>
public sealed class MeanValue(string name) : Metric
{
    private double _sum;
    private long _count;

    /// <inheritdoc />
    public override string Name => name;

    /// <inheritdoc />
    public override void Reset()
    {
        _sum = 0;
        _count = 0;
    }

    /// <summary>Adds a value observed on <paramref name="samples"/> samples.</summary>
    public void Add(double value, long samples)
    {
        _sum += value * samples;
        _count += samples;
    }

    /// <inheritdoc />
    public override void Update(Tensor prediction, Tensor target) =>
        throw new NotSupportedException("MeanValue is fed with Add(value, samples).");

    /// <inheritdoc />
    public override double Result => _count == 0 ? double.NaN : _sum / _count;

    /// <inheritdoc />
    public override double[] GetSummableState() => [_sum, _count];

    /// <inheritdoc />
    public override void SetSummableState(ReadOnlySpan<double> state)
    {
        CheckStateLength(state, 2);
        (_sum, _count) = (state[0], (long)state[1]);
    }
}
