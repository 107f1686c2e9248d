using DualFramework.NN;

namespace DualFramework.Tests.NN;

/// <summary>
/// Naive float64 reference implementations (plain loops) of what the layers compute, written from the formulas and fed
/// with the layer's own weights read back through <see cref="Module.StateDict"/>. Arrays are row-major.
/// </summary>
internal static class NNRef
{
    public static double[] Rand(int seed, int n, double lo = -1, double hi = 1)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * r.NextDouble()).ToArray();
    }

    public static float[] RandF(int seed, int n, double lo = -1, double hi = 1) => Rand(seed, n, lo, hi).Select(v => (float)v).ToArray();

    public static double[] W(Module m, string name) => m.StateDict()[name].ToDoubleArray();

    /// <summary>Replaces every parameter (not buffers) by seeded uniform values, so biases and norm scales are not trivial.</summary>
    public static void RandomizeParameters(Module m, int seed, double lo = -0.5, double hi = 0.5)
    {
        var state = new Dictionary<string, Tensor>();
        int k = 0;
        foreach (var (n, p) in m.NamedParameters())
            state[n] = Tensor.FromArray(RandF(seed + 17 * k++, (int)p.Spec.Shape.NumElements, lo, hi), p.Spec.Shape);
        m.LoadStateDict(state, strict: false);
    }

    /// <summary>y[r, o] = Σᵢ x[r, i]·w[o, i] + b[o] for x viewed as [rows, in].</summary>
    public static double[] Linear(double[] x, double[] w, double[]? b, int inF, int outF)
    {
        int rows = x.Length / inF;
        var y = new double[rows * outF];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outF; o++)
            {
                double s = b?[o] ?? 0;
                for (int i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
                y[r * outF + o] = s;
            }
        return y;
    }

    /// <summary>Normalises each row of length <paramref name="d"/> (biased variance), then scales and shifts.</summary>
    public static double[] LayerNorm(double[] x, int d, double[]? w, double[]? b, double eps)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / d; r++)
        {
            double m = 0, v = 0;
            for (int i = 0; i < d; i++) m += x[r * d + i];
            m /= d;
            for (int i = 0; i < d; i++) v += (x[r * d + i] - m) * (x[r * d + i] - m);
            v /= d;
            for (int i = 0; i < d; i++)
                y[r * d + i] = (x[r * d + i] - m) / Math.Sqrt(v + eps) * (w?[i] ?? 1) + (b?[i] ?? 0);
        }
        return y;
    }

    // Maclaurin series below 3 (cancellation costs < 1e-13 there), asymptotic erfc expansion above (error < 1e-10).
    public static double Erf(double x)
    {
        double a = Math.Abs(x);
        double r;
        if (a < 3)
        {
            double sum = 0, term = a; // term = (-1)^n x^(2n+1) / n!
            for (int n = 0; n < 100 && Math.Abs(term) > 1e-18; n++)
            {
                sum += term / (2 * n + 1);
                term *= -a * a / (n + 1);
            }
            r = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            double inv = 1 / (2 * a * a), series = 1, t = 1;
            for (int n = 1; n < 8; n++) series += t *= -(2 * n - 1) * inv;
            r = 1 - Math.Exp(-a * a) / (a * Math.Sqrt(Math.PI)) * series;
        }
        return x < 0 ? -r : r;
    }

    public static double Gelu(double x) => 0.5 * x * (1 + Erf(x / Math.Sqrt(2)));

    /// <summary>
    /// Multi-head attention on batch-first q [B, L, E], k and v [B, S, E]; <paramref name="mask"/>(b, h, i, j) is added to
    /// the scores (−∞ excludes). Returns the output [B, L, E] and the head-averaged weights [B, L, S].
    /// </summary>
    public static (double[] Out, double[] Weights) Mha(double[] q, double[] k, double[] v, int bsz, int l, int s, int e, int h,
        double[] inW, double[]? inB, double[] outW, double[]? outB, Func<int, int, int, int, double>? mask = null)
    {
        int d = e / h;
        double[] Proj(double[] x, int part)
        {
            int rows = x.Length / e;
            var y = new double[rows * e];
            for (int r = 0; r < rows; r++)
                for (int o = 0; o < e; o++)
                {
                    double acc = inB?[part * e + o] ?? 0;
                    for (int i = 0; i < e; i++) acc += x[r * e + i] * inW[(part * e + o) * e + i];
                    y[r * e + o] = acc;
                }
            return y;
        }
        double[] qp = Proj(q, 0), kp = Proj(k, 1), vp = Proj(v, 2);
        var ctx = new double[bsz * l * e];
        var avg = new double[bsz * l * s];
        for (int b = 0; b < bsz; b++)
            for (int hd = 0; hd < h; hd++)
                for (int i = 0; i < l; i++)
                {
                    var sc = new double[s];
                    double mx = double.NegativeInfinity;
                    for (int j = 0; j < s; j++)
                    {
                        double dot = 0;
                        for (int c = 0; c < d; c++) dot += qp[(b * l + i) * e + hd * d + c] * kp[(b * s + j) * e + hd * d + c];
                        sc[j] = dot / Math.Sqrt(d) + (mask?.Invoke(b, hd, i, j) ?? 0);
                        mx = Math.Max(mx, sc[j]);
                    }
                    double z = 0;
                    for (int j = 0; j < s; j++) z += sc[j] = Math.Exp(sc[j] - mx);
                    for (int j = 0; j < s; j++)
                    {
                        double p = sc[j] / z;
                        avg[(b * l + i) * s + j] += p / h;
                        for (int c = 0; c < d; c++) ctx[(b * l + i) * e + hd * d + c] += p * vp[(b * s + j) * e + hd * d + c];
                    }
                }
        return (Linear(ctx, outW, outB, e, e), avg);
    }

    /// <summary>A TransformerEncoderLayer in evaluation mode (no dropout) on batch-first src [B, L, E].</summary>
    public static double[] EncoderLayer(Module layer, double[] src, int bsz, int l, int e, int h, int ff, bool gelu, bool normFirst,
        double eps, Func<int, int, int, int, double>? mask = null)
    {
        var sd = layer.StateDict();
        double[] P(string n) => sd[n].ToDoubleArray();
        double[] Attn(double[] x) => Mha(x, x, x, bsz, l, l, e, h, P("self_attn.in_proj_weight"), P("self_attn.in_proj_bias"),
            P("self_attn.out_proj.weight"), P("self_attn.out_proj.bias"), mask).Out;
        double[] Ff(double[] x)
        {
            var hid = Linear(x, P("linear1.weight"), P("linear1.bias"), e, ff);
            for (int i = 0; i < hid.Length; i++) hid[i] = gelu ? Gelu(hid[i]) : Math.Max(hid[i], 0);
            return Linear(hid, P("linear2.weight"), P("linear2.bias"), ff, e);
        }
        double[] N1(double[] x) => LayerNorm(x, e, P("norm1.weight"), P("norm1.bias"), eps);
        double[] N2(double[] x) => LayerNorm(x, e, P("norm2.weight"), P("norm2.bias"), eps);
        static double[] AddV(double[] a, double[] b) => a.Select((v, i) => v + b[i]).ToArray();
        if (normFirst)
        {
            var x1 = AddV(src, Attn(N1(src)));
            return AddV(x1, Ff(N2(x1)));
        }
        var y1 = N1(AddV(src, Attn(src)));
        return N2(AddV(y1, Ff(y1)));
    }
}
