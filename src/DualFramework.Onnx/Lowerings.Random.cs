using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the random family (<c>OpSet.Random.cs</c>).</summary>
    private static void AddRandom(LoweringTable t)
    {
        // Uniform and normal values from the dropout counter hash (CounterHash), so they are pure functions of the seed, which
        // is a per-run graph input inside a compiled function and on the eager graph backend. Computed in float64, then
        // converted to the declared dtype.
        t.Add(OpSet.RandomUniform, (c, a) =>
        {
            var u = Uniform01(c, a.Shape, a.Seed, a.DType == DType.Float64);
            var y = c.Op("Add", c.Op("Mul", u, c.Scalar(a.High - a.Low, DType.Float64)), c.Scalar(a.Low, DType.Float64));
            Finish(c, 0, c.Op("Reshape", y, c.Ints(a.Shape)), DType.Float64);
        });
        // Box–Muller from two hashes per element: z = √(−2·ln u₁)·cos(2π·u₂) with u₁ = (h₁ + ½)/2³⁰ ∈ (0, 1), so ln never
        // sees 0 and |z| ≤ √(62·ln 2) ≈ 6.55 (the normal's mass beyond that is 6·10⁻¹¹).
        t.Add(OpSet.RandomNormal, (c, a) =>
        {
            var (h1, h2) = TwoHashes(c, a.Shape, a.Seed);
            string Level(string h, double offset) =>
                c.Op("Mul", c.Op("Add", c.Cast(h, DType.Int64, DType.Float64), c.Scalar(offset, DType.Float64)), c.Scalar(1.0 / HashLevels, DType.Float64));
            var radius = c.Op("Sqrt", c.Op("Mul", c.Op("Log", Level(h1, 0.5)), c.Scalar(-2, DType.Float64)));
            var z = c.Op("Mul", radius, c.Op("Cos", c.Op("Mul", Level(h2, 0), c.Scalar(2 * Math.PI, DType.Float64))));
            var y = c.Op("Add", c.Op("Mul", z, c.Scalar(a.Std, DType.Float64)), c.Scalar(a.Mean, DType.Float64));
            Finish(c, 0, c.Op("Reshape", y, c.Ints(a.Shape)), DType.Float64);
        });
    }

    /// <summary>Counter-hash resolution: each hash is uniform on [0, 2³⁰).</summary>
    private const long HashLevels = 1L << 30;

    /// <summary>
    /// Flat float64 uniforms on [0, 1) for the elements of <paramref name="shape"/>. One hash gives 2³⁰ levels, finer than
    /// float32's 24-bit significand (and so half precision's); float64 (<paramref name="wide"/>) combines two hashes into
    /// 53 bits, <c>(h₁·2²³ + ⌊h₂/2⁷⌋)/2⁵³</c>, exact in a double and below 1.
    /// </summary>
    private static string Uniform01(LoweringContext c, long[] shape, ulong seed, bool wide)
    {
        string h;
        double levels;
        if (wide)
        {
            var (h1, h2) = TwoHashes(c, shape, seed);
            h = c.Op("Add", c.Op("Mul", h1, c.Scalar(1L << 23, DType.Int64)), c.Op("Div", h2, c.Scalar(1L << 7, DType.Int64)));
            levels = 1L << 53;
        }
        else
        {
            long n = NumElements(shape);
            h = CounterHash(c, Counters(c, n, 1, 0), n, seed);
            levels = HashLevels;
        }
        return c.Op("Mul", c.Cast(h, DType.Int64, DType.Float64), c.Scalar(1 / levels, DType.Float64));
    }
}
