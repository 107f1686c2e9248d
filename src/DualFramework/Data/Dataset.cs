using System.Collections;

namespace DualFramework.Data;

/// <summary>
/// A lazily evaluated, immutable description of a stream of host-side items (a tf.data-style input pipeline).
/// </summary>
/// <remarks>
/// <para>A dataset holds no iteration state: every call to <see cref="GetEnumerator(long)"/> starts a fresh pass, so one
/// dataset can be enumerated many times, even concurrently. Transformations (<see cref="Shuffle(int, long)"/>,
/// <see cref="Map{TOut}(Func{T, TOut}, int)"/>, <see cref="Prefetch"/>, <see cref="Take"/>, <see cref="Skip"/>,
/// <see cref="Repeat"/>, <see cref="DatasetBatchExtensions.Batch"/>…) return new datasets and leave this one unchanged.</para>
/// <para><b>Determinism.</b> The items of a pass depend only on the sources, the seeds given to the transformations and
/// the <i>epoch index</i> passed to <see cref="GetEnumerator(long)"/> (or <see cref="WithEpoch"/>); never on timing,
/// thread scheduling, <see cref="Map{TOut}(Func{T, TOut}, int)"/> parallelism or <see cref="Prefetch"/> depth. Enumerating
/// through <see cref="IEnumerable{T}"/> uses epoch 0. A run resumed at epoch <c>k</c> after <c>n</c> items therefore sees
/// exactly the remaining items of an uninterrupted run with <c>ds.Skip(n).GetEnumerator(k)</c>. Sources must themselves be
/// deterministic (a generator function must yield the same items every time it is called).</para>
/// </remarks>
/// <typeparam name="T">The item type.</typeparam>
public abstract class Dataset<T> : IEnumerable<T>
{
    /// <summary>
    /// Number of items one pass yields; <see cref="Dataset.InfiniteCardinality"/> for endless datasets and
    /// <see cref="Dataset.UnknownCardinality"/> when it cannot be known without iterating (e.g. a generator source).
    /// </summary>
    public virtual long Cardinality => Dataset.UnknownCardinality;

    /// <summary>Starts a fresh pass over the items of epoch <paramref name="epoch"/>.</summary>
    /// <param name="epoch">The epoch index; it seeds per-epoch randomness such as <see cref="Shuffle(int, long)"/>.</param>
    /// <remarks>The enumerator must be disposed (a <c>foreach</c> does it) so background work stops.</remarks>
    public abstract IEnumerator<T> GetEnumerator(long epoch);

    /// <summary>Starts a pass for epoch 0.</summary>
    public IEnumerator<T> GetEnumerator() => GetEnumerator(0);

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator(0);

    /// <summary>The items of epoch <paramref name="epoch"/> as an enumerable (for <c>foreach</c> and LINQ).</summary>
    public IEnumerable<T> WithEpoch(long epoch) => new EpochView(this, epoch);

    /// <summary>
    /// Shuffles with a buffer of <paramref name="bufferSize"/> items, as tf.data does: the buffer is filled with the first
    /// items, then each output is drawn uniformly from the buffer and its slot refilled with the next input item.
    /// </summary>
    /// <remarks>
    /// A buffer at least as large as the dataset gives a uniform random permutation; smaller buffers only mix locally.
    /// Each epoch is shuffled differently, by a generator seeded from (<paramref name="seed"/>, epoch) with a fixed hash, so
    /// the order is reproducible on every machine and .NET version.
    /// </remarks>
    /// <param name="bufferSize">Items held in memory (at least 1).</param>
    /// <param name="seed">The shuffle seed.</param>
    public Dataset<T> Shuffle(int bufferSize, long seed)
    {
        if (bufferSize < 1) throw new ArgumentOutOfRangeException(nameof(bufferSize), bufferSize, "The shuffle buffer must hold at least 1 item.");
        return new ShuffleDataset<T>(this, bufferSize, seed);
    }

    /// <summary>A full shuffle (buffer = whole dataset, so each epoch is a uniform random permutation).</summary>
    /// <remarks>The whole pass is held in memory; on an endless dataset use <see cref="Shuffle(int, long)"/>.</remarks>
    /// <param name="seed">The shuffle seed.</param>
    public Dataset<T> Shuffle(long seed) => new ShuffleDataset<T>(this, int.MaxValue, seed);

    /// <summary>
    /// Applies <paramref name="fn"/> to every item, on up to <paramref name="parallelism"/> thread-pool threads, keeping the
    /// input order.
    /// </summary>
    /// <remarks>
    /// At most <paramref name="parallelism"/> calls are in flight; the input is read on the consumer's thread. An exception
    /// thrown by <paramref name="fn"/> surfaces from <c>MoveNext</c> as a <see cref="DataPipelineException"/> naming the item
    /// index. <paramref name="fn"/> must be thread-safe when <paramref name="parallelism"/> &gt; 1. Disposing the enumerator
    /// waits for calls already started, so <paramref name="fn"/> never runs after disposal returns.
    /// </remarks>
    /// <param name="fn">The function.</param>
    /// <param name="parallelism">Maximum concurrent calls; 1 runs inline on the consumer thread.</param>
    public Dataset<TOut> Map<TOut>(Func<T, TOut> fn, int parallelism = 1)
    {
        ArgumentNullException.ThrowIfNull(fn);
        return Map<TOut>((x, _) => fn(x), parallelism);
    }

    /// <summary>
    /// Like <see cref="Map{TOut}(Func{T, TOut}, int)"/>, but <paramref name="fn"/> also receives the item's
    /// <see cref="ItemContext"/> (epoch and position), from which deterministic per-item randomness (data augmentation)
    /// can be derived with <see cref="ItemContext.CreateRandom"/>.
    /// </summary>
    /// <param name="fn">The function.</param>
    /// <param name="parallelism">Maximum concurrent calls; 1 runs inline on the consumer thread.</param>
    public Dataset<TOut> Map<TOut>(Func<T, ItemContext, TOut> fn, int parallelism = 1)
    {
        ArgumentNullException.ThrowIfNull(fn);
        if (parallelism < 1) throw new ArgumentOutOfRangeException(nameof(parallelism), parallelism, "Parallelism must be at least 1.");
        return new MapDataset<T, TOut>(this, fn, parallelism);
    }

    /// <summary>
    /// Runs this pipeline on a background thread that stays at most <paramref name="bufferSize"/> items ahead of the
    /// consumer, so input preparation overlaps with training.
    /// </summary>
    /// <remarks>
    /// The producer starts at the first <c>MoveNext</c>. An exception in the producer is rethrown (with its original stack)
    /// by the consumer's next <c>MoveNext</c>. Disposing the enumerator stops the producer and waits for it, so no upstream
    /// work continues afterwards. Prefetching never changes the items or their order.
    /// </remarks>
    /// <param name="bufferSize">Maximum number of items produced but not yet consumed (at least 1).</param>
    public Dataset<T> Prefetch(int bufferSize = 2)
    {
        if (bufferSize < 1) throw new ArgumentOutOfRangeException(nameof(bufferSize), bufferSize, "The prefetch buffer must hold at least 1 item.");
        return new PrefetchDataset<T>(this, bufferSize);
    }

    /// <summary>The first <paramref name="count"/> items of each pass.</summary>
    /// <param name="count">Number of items (non-negative).</param>
    public Dataset<T> Take(long count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "Take needs a non-negative count.");
        return new TakeDataset<T>(this, count);
    }

    /// <summary>All but the first <paramref name="count"/> items of each pass (used to resume mid-epoch).</summary>
    /// <remarks>The skipped items are still produced by the upstream pipeline (and mapped), then dropped.</remarks>
    /// <param name="count">Number of items to drop (non-negative).</param>
    public Dataset<T> Skip(long count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "Skip needs a non-negative count.");
        return new SkipDataset<T>(this, count);
    }

    /// <summary>Repeats the dataset <paramref name="count"/> times, or forever when it is null.</summary>
    /// <remarks>
    /// Repetition <c>r</c> (0-based) of epoch <c>e</c> enumerates this dataset as epoch <c>e·count + r</c>
    /// (forever: <c>e·2³² + r</c>), so a shuffle upstream differs between repetitions and <c>Repeat(n)</c> at epoch 0 yields
    /// exactly epochs 0…n−1 back to back. An endless repeat of an empty pass ends instead of spinning.
    /// </remarks>
    /// <param name="count">Number of repetitions (non-negative), or null for an endless stream.</param>
    public Dataset<T> Repeat(long? count = null)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "Repeat needs a non-negative count (null repeats forever).");
        return new RepeatDataset<T>(this, count);
    }

    /// <summary>Groups consecutive items into arrays of <paramref name="size"/> (the last one may be shorter).</summary>
    /// <remarks>For <see cref="Example"/> items, <see cref="DatasetBatchExtensions.Batch"/> builds tensor-ready blocks.</remarks>
    /// <param name="size">Items per chunk (at least 1).</param>
    /// <param name="dropLast">Drop a final chunk shorter than <paramref name="size"/>.</param>
    public Dataset<T[]> Chunk(int size, bool dropLast = false)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "Chunk size must be at least 1.");
        return new ChunkDataset<T>(this, size, dropLast);
    }

    private sealed class EpochView(Dataset<T> dataset, long epoch) : IEnumerable<T>
    {
        public IEnumerator<T> GetEnumerator() => dataset.GetEnumerator(epoch);
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

/// <summary>Sources of <see cref="Dataset{T}"/> pipelines and the cardinality constants.</summary>
public static class Dataset
{
    /// <summary>The <see cref="Dataset{T}.Cardinality"/> of an endless dataset.</summary>
    public const long InfiniteCardinality = -1;

    /// <summary>The <see cref="Dataset{T}.Cardinality"/> of a dataset whose length is not known in advance.</summary>
    public const long UnknownCardinality = -2;

    /// <summary>
    /// Labelled examples cut from one feature block: example <c>i</c> is
    /// <c>features[i·E .. (i+1)·E)</c> with shape <paramref name="exampleShape"/> (E elements) and label <c>labels[i]</c>.
    /// </summary>
    /// <remarks>The examples are views of <paramref name="features"/> (no copy): do not modify the array afterwards.</remarks>
    /// <param name="features">All features, row-major, example after example.</param>
    /// <param name="exampleShape">The shape of one example (e.g. <c>[1, 28, 28]</c>).</param>
    /// <param name="labels">One label per example.</param>
    /// <exception cref="ArgumentException">The lengths disagree or the shape is invalid.</exception>
    public static Dataset<Example> FromArrays(float[] features, long[] exampleShape, long[] labels)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        var shape = CheckBlock(features.Length, exampleShape, labels.Length, nameof(features));
        return new ArrayExampleDataset(features, shape, labels);
    }

    /// <summary>
    /// Like <see cref="FromArrays(float[], long[], long[])"/> for byte features (e.g. image pixels) kept compactly in memory:
    /// each example is converted to float32 as <c>value / <paramref name="divisor"/></c> (correctly rounded, via a 256-entry
    /// table) when it is enumerated.
    /// </summary>
    /// <param name="features">All features, row-major, example after example.</param>
    /// <param name="exampleShape">The shape of one example.</param>
    /// <param name="labels">One label per example.</param>
    /// <param name="divisor">Each byte is divided by it (255 maps pixels to [0, 1]); must be non-zero.</param>
    /// <exception cref="ArgumentException">The lengths disagree or the shape is invalid.</exception>
    public static Dataset<Example> FromArrays(byte[] features, long[] exampleShape, long[] labels, float divisor = 255f)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (divisor == 0 || !float.IsFinite(divisor)) throw new ArgumentOutOfRangeException(nameof(divisor), divisor, "The divisor must be finite and non-zero.");
        var shape = CheckBlock(features.Length, exampleShape, labels.Length, nameof(features));
        return new ByteExampleDataset(features, shape, labels, ByteTable(divisor));
    }

    /// <summary>The items of a list, in order. The list is read at enumeration time, so do not modify it afterwards.</summary>
    /// <param name="items">The items.</param>
    public static Dataset<T> FromList<T>(IReadOnlyList<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        return new ListDataset<T>(items);
    }

    /// <summary>
    /// The items produced by <paramref name="generator"/>, which is called once per pass and must yield the same sequence
    /// every time for the pipeline to stay deterministic.
    /// </summary>
    /// <param name="generator">Creates a fresh sequence.</param>
    public static Dataset<T> FromGenerator<T>(Func<IEnumerable<T>> generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        return new GeneratorDataset<T>(_ => generator());
    }

    /// <summary>
    /// The items produced by <paramref name="generator"/>, called once per pass with the epoch index (so a source may vary
    /// deterministically per epoch).
    /// </summary>
    /// <param name="generator">Creates a fresh sequence for an epoch.</param>
    public static Dataset<T> FromGenerator<T>(Func<long, IEnumerable<T>> generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        return new GeneratorDataset<T>(generator);
    }

    /// <summary>The integers <c>[0, count)</c>.</summary>
    /// <param name="count">Number of items (non-negative).</param>
    public static Dataset<long> Range(long count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "Range needs a non-negative count.");
        return new RangeDataset(count);
    }

    /// <summary>
    /// The paths of the files in <paramref name="directory"/> matching <paramref name="searchPattern"/>, sorted ordinally so
    /// the order does not depend on the file system. The directory is listed once, now.
    /// </summary>
    /// <param name="directory">The directory.</param>
    /// <param name="searchPattern">A file-name pattern such as <c>*.png</c>.</param>
    /// <param name="recursive">Include subdirectories.</param>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    public static Dataset<string> ListFiles(string directory, string searchPattern = "*", bool recursive = false)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"Dataset directory '{Path.GetFullPath(directory)}' does not exist.");
        var files = Directory.GetFiles(directory, searchPattern, recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly);
        Array.Sort(files, StringComparer.Ordinal);
        return new ListDataset<string>(files);
    }

    /// <summary>
    /// Items loaded lazily from files: <paramref name="load"/> reads a file only when its item is reached, on up to
    /// <paramref name="parallelism"/> threads, in the order of <paramref name="paths"/>.
    /// </summary>
    /// <param name="paths">The files (the sequence is captured now).</param>
    /// <param name="load">Reads one file.</param>
    /// <param name="parallelism">Maximum concurrent loads.</param>
    public static Dataset<T> FromFiles<T>(IEnumerable<string> paths, Func<string, T> load, int parallelism = 1)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(load);
        return new ListDataset<string>(paths.ToArray()).Map(load, parallelism);
    }

    internal static float[] ByteTable(float divisor)
    {
        var table = new float[256];
        for (int i = 0; i < 256; i++) table[i] = i / divisor;
        return table;
    }

    private static Shape CheckBlock(long featureLength, long[] exampleShape, long labelCount, string paramName)
    {
        ArgumentNullException.ThrowIfNull(exampleShape);
        Shape shape;
        try
        {
            shape = new Shape(exampleShape);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException(e.Message, nameof(exampleShape));
        }
        long per = shape.NumElements;
        bool agree = labelCount == 0 ? featureLength == 0 : featureLength % labelCount == 0 && featureLength / labelCount == per;
        if (!agree)
            throw new ArgumentException(
                $"{labelCount} labels with example shape {shape} ({per} elements each) need {per}·{labelCount} feature values, got {featureLength}.",
                paramName);
        return shape;
    }
}
