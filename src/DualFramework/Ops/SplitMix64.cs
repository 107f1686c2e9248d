namespace DualFramework;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood, 2014), the one definition behind every seed and random stream of Core:
/// <see cref="NN.SeededRandom"/> (parameter initialisation), <see cref="Generator"/> (op seeds) and the data pipeline's
/// seed derivation. Fully specified, so streams are identical on every machine and .NET version.
/// </summary>
internal static class SplitMix64
{
    /// <summary>The state increment γ (the golden ratio scaled to 64 bits).</summary>
    public const ulong Gamma = 0x9E3779B97F4A7C15UL;

    /// <summary>The finaliser: a bijection that spreads nearby inputs over the whole 64-bit range.</summary>
    public static ulong Mix(ulong z)
    {
        unchecked
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>Advances <paramref name="state"/> by <see cref="Gamma"/> and returns the next output.</summary>
    public static ulong Next(ref ulong state) => Mix(unchecked(state += Gamma));
}
