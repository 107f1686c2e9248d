namespace DualFramework.Fuzz;

/// <summary>
/// One loader under fuzzing: its seed files, a structure-aware mutator over them, the load itself and the exception
/// types the loader documents. Anything else the load throws is a crash.
/// </summary>
public abstract class FuzzTarget : IDisposable
{
    /// <summary>The loader's name in the report line ("onnx", "safetensors", "idx").</summary>
    public abstract string Name { get; }

    /// <summary>File extension of saved inputs (corpus files), e.g. ".onnx".</summary>
    public abstract string Extension { get; }

    /// <summary>The unmutated seed files the mutations start from.</summary>
    public abstract IEnumerable<byte[]> Seeds();

    /// <summary>The input with index <paramref name="index"/>: a mutation of one seed, a pure function of the
    /// generator's state (so each input is reproducible from the run's seed and its index).</summary>
    public abstract byte[] Generate(Random rng, int index);

    /// <summary>Loads <paramref name="input"/>, disposes whatever the load returned and returns the bytes of native
    /// tensor memory the result held (managed allocation is measured by the runner).</summary>
    public abstract long Load(byte[] input);

    /// <summary>True when <paramref name="e"/> is an exception the loader documents for malformed input.</summary>
    public abstract bool IsDocumented(Exception e);

    /// <summary>Largest allocation an input may cause: a lying header must not make the loader allocate far more than
    /// the file holds.</summary>
    public virtual long AllocationBound(byte[] input) => (64L << 20) + 8L * input.Length;

    /// <summary>Deletes temporary files.</summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);
}
