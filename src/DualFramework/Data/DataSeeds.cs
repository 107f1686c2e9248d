namespace DualFramework.Data;

/// <summary>Fixed seed derivation, so orders never depend on the .NET version or platform.</summary>
internal static class DataSeeds
{
    private static ulong Mix(ulong z) => SplitMix64.Mix(unchecked(z + SplitMix64.Gamma));

    /// <summary>Hashes a seed and a sequence of stream coordinates into a new seed.</summary>
    public static long Derive(long seed, params ReadOnlySpan<long> parts)
    {
        ulong h = Mix(unchecked((ulong)seed));
        foreach (var p in parts) h = Mix(h ^ Mix(unchecked((ulong)p) + 0x632BE59BD9B4E019UL));
        return unchecked((long)h);
    }
}
