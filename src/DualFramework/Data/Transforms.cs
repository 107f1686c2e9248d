using DualFramework.NN;

namespace DualFramework.Data;

// Sequential transformations, written as iterators: disposing the outer enumerator disposes the inner one (using).

internal sealed class ShuffleDataset<T>(Dataset<T> input, int bufferSize, long seed) : Dataset<T>
{
    public override long Cardinality => input.Cardinality;

    public override IEnumerator<T> GetEnumerator(long epoch)
    {
        var rng = new SeededRandom(DataSeeds.Derive(seed, epoch));
        long known = input.Cardinality;
        int initial = known >= 0 ? (int)Math.Min(Math.Min(known, bufferSize), 1 << 20) : Math.Min(bufferSize, 1024);
        var buffer = new List<T>(initial);
        using var src = input.GetEnumerator(epoch);
        while (buffer.Count < bufferSize && src.MoveNext()) buffer.Add(src.Current);
        while (buffer.Count > 0)
        {
            int i = (int)rng.NextInt64(buffer.Count);
            var item = buffer[i];
            if (src.MoveNext())
            {
                buffer[i] = src.Current;
            }
            else
            {
                // Input exhausted: close the gap with the last slot so the remaining draws stay uniform.
                buffer[i] = buffer[^1];
                buffer.RemoveAt(buffer.Count - 1);
            }
            yield return item;
        }
    }
}

internal sealed class TakeDataset<T>(Dataset<T> input, long count) : Dataset<T>
{
    public override long Cardinality => input.Cardinality switch
    {
        Dataset.InfiniteCardinality => count,
        Dataset.UnknownCardinality => Dataset.UnknownCardinality,
        var c => Math.Min(c, count),
    };

    public override IEnumerator<T> GetEnumerator(long epoch)
    {
        if (count == 0) yield break;
        using var src = input.GetEnumerator(epoch);
        for (long n = 0; n < count && src.MoveNext(); n++) yield return src.Current;
    }
}

internal sealed class SkipDataset<T>(Dataset<T> input, long count) : Dataset<T>
{
    public override long Cardinality => input.Cardinality switch
    {
        Dataset.InfiniteCardinality => Dataset.InfiniteCardinality,
        Dataset.UnknownCardinality => Dataset.UnknownCardinality,
        var c => Math.Max(0, c - count),
    };

    public override IEnumerator<T> GetEnumerator(long epoch)
    {
        using var src = input.GetEnumerator(epoch);
        for (long n = 0; n < count; n++)
            if (!src.MoveNext()) yield break;
        while (src.MoveNext()) yield return src.Current;
    }
}

internal sealed class RepeatDataset<T>(Dataset<T> input, long? count) : Dataset<T>
{
    public override long Cardinality
    {
        get
        {
            long c = input.Cardinality;
            if (count == 0 || c == 0) return 0;
            if (c == Dataset.UnknownCardinality) return Dataset.UnknownCardinality;
            if (count is null || c == Dataset.InfiniteCardinality) return Dataset.InfiniteCardinality;
            long product;
            try { product = checked(c * count.Value); }
            catch (OverflowException) { return Dataset.UnknownCardinality; }
            return product;
        }
    }

    public override IEnumerator<T> GetEnumerator(long epoch)
    {
        for (long r = 0; count is null || r < count; r++)
        {
            long inner = unchecked(count is { } n ? epoch * n + r : (epoch << 32) + r);
            bool any = false;
            using (var src = input.GetEnumerator(inner))
            {
                while (src.MoveNext())
                {
                    any = true;
                    yield return src.Current;
                }
            }
            if (!any && count is null) yield break; // an endless repeat of nothing would spin forever
        }
    }
}

internal sealed class ChunkDataset<T>(Dataset<T> input, int size, bool dropLast) : Dataset<T[]>
{
    public override long Cardinality => BatchDataset.BatchCount(input.Cardinality, size, dropLast);

    public override IEnumerator<T[]> GetEnumerator(long epoch)
    {
        using var src = input.GetEnumerator(epoch);
        var chunk = new List<T>(size);
        while (src.MoveNext())
        {
            chunk.Add(src.Current);
            if (chunk.Count == size)
            {
                yield return chunk.ToArray();
                chunk.Clear();
            }
        }
        if (chunk.Count > 0 && !dropLast) yield return chunk.ToArray();
    }
}

internal sealed class BatchDataset(Dataset<Example> input, int size, bool dropLast) : Dataset<Batch>
{
    public override long Cardinality => BatchCount(input.Cardinality, size, dropLast);

    internal static long BatchCount(long c, int size, bool dropLast) => c < 0 ? c : dropLast ? c / size : (c + size - 1) / size;

    public override IEnumerator<Batch> GetEnumerator(long epoch)
    {
        using var src = input.GetEnumerator(epoch);
        long index = 0;
        while (true)
        {
            // Collect first, then copy: the element count per example is only known from the first one.
            var pending = new List<Example>(size);
            while (pending.Count < size && src.MoveNext())
            {
                var e = src.Current;
                if (pending.Count > 0 && !e.Shape.Equals(pending[0].Shape))
                    throw new DataPipelineException(
                        $"Batch: item {index} has shape {e.Shape} but the batch started with shape {pending[0].Shape}; all examples of a batch must have the same shape.",
                        index, epoch);
                pending.Add(e);
                index++;
            }
            if (pending.Count == 0 || (pending.Count < size && dropLast)) yield break;
            yield return Stack(pending);
            if (pending.Count < size) yield break;
        }
    }

    private static Batch Stack(List<Example> examples)
    {
        var shape = examples[0].Shape;
        int per = checked((int)shape.NumElements);
        var features = new float[checked(per * examples.Count)];
        var labels = new long[examples.Count];
        for (int i = 0; i < examples.Count; i++)
        {
            examples[i].Features.Span.CopyTo(features.AsSpan(i * per, per));
            labels[i] = examples[i].Label;
        }
        var dims = new long[shape.Rank + 1];
        dims[0] = examples.Count;
        shape.Dims.CopyTo(dims.AsSpan(1));
        return new Batch(features, new Shape(dims), labels);
    }
}
