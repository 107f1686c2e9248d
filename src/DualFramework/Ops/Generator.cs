namespace DualFramework;

/// <summary>
/// A backend-neutral source of op seeds. Built from one seed, each <see cref="NextSeed"/> call derives the next 64-bit seed
/// deterministically (splitmix64 of <c>seed + counter·γ</c>), so a program that draws in the same order from a generator with
/// the same seed gets the same random tensors on the same backend. Random ops receive the derived seed as an attribute,
/// which keeps them pure (the same op application always gives the same values).
/// </summary>
/// <remarks>Thread-safe: concurrent draws get distinct seeds, though their order then depends on scheduling.</remarks>
public sealed class Generator
{
    private long _counter;

    /// <summary>A generator starting at <paramref name="seed"/>.</summary>
    public Generator(ulong seed) => Seed = seed;

    /// <summary>A generator seeded from a signed value (reinterpreted bit for bit).</summary>
    public Generator(long seed) : this(unchecked((ulong)seed)) { }

    /// <summary>The seed this generator was built from (or restored to by <see cref="Restore(ulong, long)"/>).</summary>
    public ulong Seed { get; private set; }

    /// <summary>How many seeds were drawn so far.</summary>
    public long Draws => Interlocked.Read(ref _counter);

    /// <summary>The next op seed.</summary>
    public ulong NextSeed()
    {
        ulong n = unchecked((ulong)Interlocked.Increment(ref _counter));
        return SplitMix64.Mix(unchecked(Seed + n * SplitMix64.Gamma));
    }

    /// <summary>Starts the sequence again from the first seed.</summary>
    public void Reset() => Interlocked.Exchange(ref _counter, 0);

    /// <summary>Continues the sequence as if <paramref name="draws"/> seeds had been drawn (restores <see cref="Draws"/> from a checkpoint).</summary>
    public void Restore(long draws)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(draws);
        Interlocked.Exchange(ref _counter, draws);
    }

    /// <summary>Continues the sequence of a generator seeded with <paramref name="seed"/> after <paramref name="draws"/> draws
    /// (a whole generator state from a checkpoint, so a model built with other seeds resumes the saved masks).</summary>
    public void Restore(ulong seed, long draws)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(draws);
        Seed = seed;
        Interlocked.Exchange(ref _counter, draws);
    }

    /// <summary>A new generator whose sequence is independent of this one's (seeded with the next draw).</summary>
    public Generator Fork() => new(NextSeed());
}
