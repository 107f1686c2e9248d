namespace DualFramework.Tests.Support;

/// <summary>The float32 rounding model of docs/parity.md: a sum of K terms, taken in any order, is within
/// γ_K·Σ|terms| of the exact sum (Higham §3.1), and the norms the parity tests compare with.</summary>
internal static class Fp32ErrorModel
{
    /// <summary>float32 unit roundoff, 2⁻²⁴.</summary>
    public const double UnitRoundoff = 1.0 / (1 << 24);

    /// <summary>γ_K = K·u / (1 − K·u).</summary>
    public static double Gamma(int k) => k * UnitRoundoff / (1 - k * UnitRoundoff);

    /// <summary>Euclidean norm, accumulated in float64.</summary>
    public static double Norm(float[] v) => Math.Sqrt(v.Sum(a => (double)a * a));

    /// <summary>Euclidean distance between two equally long vectors, accumulated in float64.</summary>
    public static double Distance(float[] a, float[] b) => Math.Sqrt(a.Zip(b, (x, y) => (double)(x - y) * (x - y)).Sum());
}
