using DualFramework.Data;

namespace DualFramework.Distributed;

/// <summary>
/// One rank's part of every batch of a dataset: of a batch of b examples, rank r of N takes the contiguous run
/// [r·⌈b/N⌉, (r+1)·⌈b/N⌉). With <c>pad</c> (training) a run that passes the end wraps around to the batch's first
/// examples, so every rank gets exactly ⌈b/N⌉ examples of every batch (equal shards keep the average of the
/// replicas' mean gradients equal to the mean gradient of the global batch when N divides b, as DistributedSampler's
/// padding does); without it (evaluation) each example goes to exactly one rank and empty shards are skipped.
/// </summary>
/// <remarks>Every rank reads and prepares the whole global batch and keeps its part; the global order stays the one the
/// (seeded) pipeline defines, identical on all ranks.</remarks>
public sealed class ShardedBatches : Dataset<Batch>
{
    private readonly Dataset<Batch> _source;
    private readonly int _rank, _worldSize;
    private readonly bool _pad;

    /// <summary>Shards <paramref name="source"/> for rank <paramref name="rank"/> of <paramref name="worldSize"/>.</summary>
    public ShardedBatches(Dataset<Batch> source, int rank, int worldSize, bool pad)
    {
        _source = source ?? throw new ArgumentNullException(nameof(source));
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        (_rank, _worldSize, _pad) = (rank, worldSize, pad);
    }

    /// <inheritdoc />
    public override long Cardinality => _pad ? _source.Cardinality : Dataset.UnknownCardinality;

    /// <inheritdoc />
    public override IEnumerator<Batch> GetEnumerator(long epoch)
    {
        using var e = _source.GetEnumerator(epoch);
        while (e.MoveNext())
        {
            var shard = Shard(e.Current, _rank, _worldSize, _pad);
            if (shard != null) yield return shard;
        }
    }

    /// <summary>Rank <paramref name="rank"/>'s part of <paramref name="batch"/> (null when it is empty).</summary>
    public static Batch? Shard(Batch batch, int rank, int worldSize, bool pad)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int b = batch.Size;
        if (worldSize == 1 || b == 0) return batch;
        int per = (b + worldSize - 1) / worldSize;
        int start = rank * per;
        int count = pad ? per : Math.Max(0, Math.Min(per, b - start));
        if (count == 0) return null;
        long exampleSize = batch.FeatureShape.NumElements / b;
        var features = new float[count * exampleSize];
        var labels = new long[count];
        for (int k = 0; k < count; k++)
        {
            int src = (start + k) % b;
            labels[k] = batch.Labels[src];
            Array.Copy(batch.Features, src * exampleSize, features, k * exampleSize, exampleSize);
        }
        var dims = batch.FeatureShape.Dims.ToArray();
        dims[0] = count;
        return new Batch(features, new Shape(dims), labels);
    }
}
