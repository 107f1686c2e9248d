namespace DualFramework.NN;

/// <summary>
/// A small, fully specified pseudo-random generator (SplitMix64 state, Box–Muller normals) used for parameter
/// initialisation. It is computed in managed code, so the same seed gives bit-identical weights on every backend, machine
/// and .NET version — which is what lets the parity harness start two backends from identical parameters.
/// </summary>
public sealed class SeededRandom
{
    private ulong _state;
    private double? _spareNormal;

    /// <summary>Creates a generator from a seed.</summary>
    public SeededRandom(long seed) => _state = unchecked((ulong)seed);

    /// <summary>The next 64 random bits (SplitMix64).</summary>
    public ulong NextUInt64() => SplitMix64.Next(ref _state);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [low, high).</summary>
    public double Uniform(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>Standard normal sample (Box–Muller; the second value of each pair is kept for the next call).</summary>
    public double Normal()
    {
        if (_spareNormal is { } s)
        {
            _spareNormal = null;
            return s;
        }
        double u1 = 1.0 - NextDouble(); // (0, 1]: log is finite
        double u2 = NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        _spareNormal = r * Math.Sin(2 * Math.PI * u2);
        return r * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>A uniform integer in [0, n).</summary>
    public long NextInt64(long n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "must be positive");
        // Rejection sampling avoids modulo bias.
        ulong limit = ulong.MaxValue - ulong.MaxValue % (ulong)n;
        ulong v;
        do v = NextUInt64(); while (v >= limit);
        return (long)(v % (ulong)n);
    }

    /// <summary>The complete generator state (for checkpoints): the SplitMix64 counter and the cached second normal.</summary>
    public (ulong State, double? SpareNormal) GetState() => (_state, _spareNormal);

    /// <summary>A generator continuing exactly from a state returned by <see cref="GetState"/>.</summary>
    public static SeededRandom FromState(ulong state, double? spareNormal) => new(0) { _state = state, _spareNormal = spareNormal };

    /// <summary>A child generator whose stream is independent of (and does not advance) further draws from this one
    /// beyond one 64-bit draw.</summary>
    public SeededRandom Fork() => new((long)NextUInt64());
}
