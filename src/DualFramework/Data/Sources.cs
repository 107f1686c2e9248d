namespace DualFramework.Data;

// Source datasets. Each GetEnumerator call is an independent pass; none of them keeps state between passes.

internal sealed class ListDataset<T>(IReadOnlyList<T> items) : Dataset<T>
{
    public override long Cardinality => items.Count;

    public override IEnumerator<T> GetEnumerator(long epoch)
    {
        for (int i = 0; i < items.Count; i++) yield return items[i];
    }
}

internal sealed class RangeDataset(long count) : Dataset<long>
{
    public override long Cardinality => count;

    public override IEnumerator<long> GetEnumerator(long epoch)
    {
        for (long i = 0; i < count; i++) yield return i;
    }
}

internal sealed class GeneratorDataset<T>(Func<long, IEnumerable<T>> generator) : Dataset<T>
{
    public override IEnumerator<T> GetEnumerator(long epoch) =>
        (generator(epoch) ?? throw new InvalidOperationException("The dataset generator returned null instead of a sequence.")).GetEnumerator();
}

internal sealed class ArrayExampleDataset(float[] features, Shape shape, long[] labels) : Dataset<Example>
{
    public override long Cardinality => labels.Length;

    public override IEnumerator<Example> GetEnumerator(long epoch)
    {
        int per = checked((int)shape.NumElements);
        for (int i = 0; i < labels.Length; i++)
            yield return new Example(new ReadOnlyMemory<float>(features, i * per, per), shape, labels[i]);
    }
}

internal sealed class ByteExampleDataset(byte[] features, Shape shape, long[] labels, float[] table) : Dataset<Example>
{
    public override long Cardinality => labels.Length;

    public override IEnumerator<Example> GetEnumerator(long epoch)
    {
        int per = checked((int)shape.NumElements);
        for (int i = 0; i < labels.Length; i++)
        {
            // A fresh array per example: items may be held (shuffle buffer, prefetch queue) long after the next one exists.
            var x = new float[per];
            var src = features.AsSpan(i * per, per);
            for (int j = 0; j < per; j++) x[j] = table[src[j]];
            yield return new Example(x, shape, labels[i]);
        }
    }
}
