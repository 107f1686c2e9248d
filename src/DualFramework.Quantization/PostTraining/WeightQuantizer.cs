namespace DualFramework.Quantization;

/// <summary>Symmetric int8 quantization of a weight tensor, per output channel or per tensor.</summary>
internal static class WeightQuantizer
{
    /// <summary>
    /// The int8 values and scales of <paramref name="w"/> (dims <paramref name="dims"/>): per channel along
    /// <paramref name="axis"/> (scale_c = max|w_c| / qmax, zero point 0), or one scale when not
    /// <paramref name="perChannel"/>. An all-zero channel gets scale 1.
    /// </summary>
    public static (int[] Q, float[] Scales) Quantize(float[] w, IReadOnlyList<long> dims, int axis, bool perChannel, bool reduceRange)
    {
        var (qmin, qmax) = QuantMath.Range(signed: true, symmetric: true, reduceRange);
        long inner = 1;
        for (int d = axis + 1; d < dims.Count; d++) inner *= dims[d];
        int channels = perChannel ? (int)dims[axis] : 1;
        var absMax = new float[channels];
        for (long i = 0; i < w.Length; i++)
        {
            int c = perChannel ? (int)(i / inner % channels) : 0;
            absMax[c] = Math.Max(absMax[c], Math.Abs(w[i]));
        }
        var p = absMax.Select(a => QuantMath.Symmetric(-a, a, qmin, qmax)).ToArray();
        var q = new int[w.Length];
        for (long i = 0; i < w.Length; i++)
        {
            int c = perChannel ? (int)(i / inner % channels) : 0;
            q[i] = QuantMath.Quantize(w[i], p[c], qmin, qmax);
        }
        return (q, p.Select(x => x.Scale).ToArray());
    }
}
