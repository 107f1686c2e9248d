namespace DualFramework.IR;

/// <summary>
/// How a compiled graph receives a fresh seed for each random op on every run. A traced random op keeps the seed it drew
/// at trace time as its attribute; when that seed came from a generator the compiled function tracks, the graph also gets
/// two int64 scalar inputs named <see cref="InputName"/>, which the function fills before every run from the generator's
/// next draw (<see cref="Low"/> and <see cref="High"/> of it). Lowerings look the inputs up by name and fall back to the
/// attribute's seed (a constant) when there are none, so eager ops and compiled graphs share one mask function.
/// </summary>
public static class RandomSeedInputs
{
    /// <summary>The name of the graph input carrying the low (<paramref name="high"/> false) or high 31 bits of the
    /// per-run seed of the op whose trace-time seed is <paramref name="traceSeed"/>.</summary>
    public static string InputName(ulong traceSeed, bool high) => $"rng_{traceSeed:x16}_{(high ? "hi" : "lo")}";

    /// <summary>Bits 0–30 of a seed, as the non-negative key the counter hash adds to the element index.</summary>
    public static long Low(ulong seed) => (long)(seed & 0x7FFF_FFFF);

    /// <summary>Bits 31–61 of a seed, as the non-negative key the counter hash adds after its first round.</summary>
    public static long High(ulong seed) => (long)((seed >> 31) & 0x7FFF_FFFF);
}
