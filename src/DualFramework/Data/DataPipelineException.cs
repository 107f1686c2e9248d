using DualFramework.NN;

namespace DualFramework.Data;

/// <summary>An error raised while producing one item of a <see cref="Dataset{T}"/> pass.</summary>
public sealed class DataPipelineException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="itemIndex">Position of the failing item in the stage's input stream (0-based).</param>
    /// <param name="epoch">The epoch being enumerated.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public DataPipelineException(string message, long itemIndex, long epoch, Exception? inner = null)
        : base(message, inner)
    {
        ItemIndex = itemIndex;
        Epoch = epoch;
    }

    /// <summary>Position of the failing item in the stage's input stream (0-based).</summary>
    public long ItemIndex { get; }

    /// <summary>The epoch being enumerated.</summary>
    public long Epoch { get; }
}

/// <summary>Where an item sits in a pass: passed to context-aware <c>Map</c> functions.</summary>
/// <param name="Epoch">The epoch being enumerated.</param>
/// <param name="Index">Position of the item in the <c>Map</c>'s input stream for this pass (0-based).</param>
public readonly record struct ItemContext(long Epoch, long Index)
{
    /// <summary>
    /// A generator determined by (<paramref name="seed"/>, <see cref="Epoch"/>, <see cref="Index"/>) only, so random
    /// augmentations are reproducible whatever the parallelism and however a run was resumed.
    /// </summary>
    /// <param name="seed">The augmentation seed.</param>
    public SeededRandom CreateRandom(long seed) => new(DataSeeds.Derive(seed, Epoch, Index));
}

/// <summary>Fixed seed derivation, so orders never depend on the .NET version or platform.</summary>
internal static class DataSeeds
{
    private static ulong Mix(ulong z)
    {
        unchecked
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>Hashes a seed and a sequence of stream coordinates into a new seed.</summary>
    public static long Derive(long seed, params ReadOnlySpan<long> parts)
    {
        ulong h = Mix(unchecked((ulong)seed));
        foreach (var p in parts) h = Mix(h ^ Mix(unchecked((ulong)p) + 0x632BE59BD9B4E019UL));
        return unchecked((long)h);
    }
}
