namespace DualFramework.Samples.SentenceEmbeddings;

/// <summary>
/// The sentence-transformers head of all-MiniLM-L6-v2: the mean of a sentence's token states over its real tokens
/// (attention mask 1), scaled to unit length; cosine similarity is then a dot product. The tensor forms are written with
/// <see cref="Ops"/> so gradients flow through them; the host forms are a plain reference.
/// </summary>
public static class Pooling
{
    /// <summary>Unit-length mean of <paramref name="hidden"/> <c>[B, T, H]</c> over the tokens where
    /// <paramref name="attentionMask"/> <c>[B, T]</c> (int64 or float) is 1: <c>[B, H]</c>.</summary>
    public static Tensor MeanPoolNormalized(Tensor hidden, Tensor attentionMask)
    {
        var mask = Ops.Unsqueeze(Ops.Cast(attentionMask, hidden.DType), -1);
        var sum = Ops.Sum(hidden * mask, 1);
        // Clamped as sentence-transformers does: a row of padding only would divide by zero.
        var mean = sum / Ops.Clamp(Ops.Sum(mask, 1), min: 1e-9);
        var norm = Ops.Clamp(Ops.Sqrt(Ops.Sum(mean * mean, 1, keepDims: true)), min: 1e-12);
        return mean / norm;
    }

    /// <summary>Cosine similarity of the rows of two batches of unit vectors <c>[B, H]</c>: <c>[B]</c>.</summary>
    public static Tensor RowCosine(Tensor a, Tensor b) => Ops.Sum(a * b, 1);

    /// <summary>Host reference of <see cref="MeanPoolNormalized(Tensor, Tensor)"/> in double precision: <paramref name="hidden"/> is
    /// <c>[batch.Count, batch.Length, width]</c> row-major; returns <c>[batch.Count][width]</c>.</summary>
    public static double[][] MeanPoolNormalized(ReadOnlySpan<float> hidden, SentenceBatch batch, int width)
    {
        var result = new double[batch.Count][];
        for (int b = 0; b < batch.Count; b++)
        {
            var v = new double[width];
            int tokens = 0;
            for (int t = 0; t < batch.Length; t++)
            {
                if (batch.AttentionMask[b * batch.Length + t] == 0) continue;
                tokens++;
                var row = hidden.Slice((b * batch.Length + t) * width, width);
                for (int h = 0; h < width; h++) v[h] += row[h];
            }
            for (int h = 0; h < width; h++) v[h] /= Math.Max(tokens, 1);
            double norm = Math.Max(Math.Sqrt(v.Sum(x => x * x)), 1e-12);
            for (int h = 0; h < width; h++) v[h] /= norm;
            result[b] = v;
        }
        return result;
    }

    /// <summary>Cosine similarity of two vectors (any length, need not be normalised).</summary>
    public static double Cosine(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count) throw new ArgumentException("vectors of different lengths");
        double dot = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Count; i++)
        {
            dot += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }
        return dot / Math.Max(Math.Sqrt(aa * bb), 1e-30);
    }
}
