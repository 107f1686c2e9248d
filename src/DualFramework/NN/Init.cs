namespace DualFramework.NN;

/// <summary>
/// Parameter initialisers computed in managed code from a <see cref="SeededRandom"/>, so that the same seed yields
/// bit-identical weights on every backend. Layers use PyTorch's default schemes.
/// </summary>
public static class Init
{
    private static readonly object Lock = new();
    private static SeededRandom _global = new(0);

    /// <summary>Reseeds the process-wide generator used by layers created without an explicit one.</summary>
    public static void ManualSeed(long seed)
    {
        lock (Lock) _global = new SeededRandom(seed);
    }

    /// <summary>A generator for one layer: the explicit one, or a fork of the process-wide generator.</summary>
    public static SeededRandom Resolve(SeededRandom? rng)
    {
        if (rng != null) return rng;
        lock (Lock) return _global.Fork();
    }

    /// <summary>float32 tensor of <paramref name="shape"/> with values uniform in [low, high).</summary>
    public static Tensor Uniform(Shape shape, double low, double high, SeededRandom rng)
    {
        var data = new float[shape.NumElements];
        for (int i = 0; i < data.Length; i++) data[i] = (float)rng.Uniform(low, high);
        return Tensor.FromArray(data, shape);
    }

    /// <summary>float32 tensor with normal values.</summary>
    public static Tensor Normal(Shape shape, double mean, double std, SeededRandom rng)
    {
        var data = new float[shape.NumElements];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(mean + std * rng.Normal());
        return Tensor.FromArray(data, shape);
    }

    /// <summary>Kaiming (He) uniform with negative slope <paramref name="a"/>: bound = √(6 / ((1 + a²)·fan_in)).
    /// With a = √5 (PyTorch's Linear/Conv default) the bound is 1/√fan_in.</summary>
    public static Tensor KaimingUniform(Shape shape, long fanIn, double a, SeededRandom rng)
    {
        double bound = Math.Sqrt(6.0 / ((1 + a * a) * Math.Max(fanIn, 1)));
        return Uniform(shape, -bound, bound, rng);
    }

    /// <summary>Xavier (Glorot) uniform: bound = gain·√(6 / (fan_in + fan_out)).</summary>
    public static Tensor XavierUniform(Shape shape, long fanIn, long fanOut, SeededRandom rng, double gain = 1.0)
    {
        double bound = gain * Math.Sqrt(6.0 / Math.Max(fanIn + fanOut, 1));
        return Uniform(shape, -bound, bound, rng);
    }

    /// <summary>The bias initialiser PyTorch pairs with Kaiming-uniform weights: U(−1/√fan_in, 1/√fan_in).</summary>
    public static Tensor FanInUniform(Shape shape, long fanIn, SeededRandom rng)
    {
        double bound = fanIn > 0 ? 1.0 / Math.Sqrt(fanIn) : 0;
        return Uniform(shape, -bound, bound, rng);
    }
}
