namespace DualFramework.NN;

// Argument and input validation shared by the layers, so every message starts with the layer's type name.
internal static class LayerChecks
{
    public static int Positive(string layer, string name, int value) =>
        value > 0 ? value : throw new ArgumentOutOfRangeException(name, value, $"{layer}: {name} must be positive, got {value}.");

    public static long Positive(string layer, string name, long value) =>
        value > 0 ? value : throw new ArgumentOutOfRangeException(name, value, $"{layer}: {name} must be positive, got {value}.");

    public static int NonNegative(string layer, string name, int value) =>
        value >= 0 ? value : throw new ArgumentOutOfRangeException(name, value, $"{layer}: {name} must be non-negative, got {value}.");

    public static double Probability(string layer, string name, double p) =>
        p >= 0 && p <= 1 ? p : throw new ArgumentOutOfRangeException(name, p, $"{layer}: {name} must be in [0, 1], got {p}.");

    public static double PositiveFinite(string layer, string name, double value) =>
        value > 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(name, value, $"{layer}: {name} must be positive and finite, got {value}.");

    // Per-dimension parameters: one entry per spatial dimension, each at least `min`.
    public static int[] PerDim(string layer, string name, int[]? values, int dims, int fallback, int min)
    {
        var v = values ?? Enumerable.Repeat(fallback, dims).ToArray();
        if (v.Length != dims)
            throw new ArgumentException($"{layer}: {name} needs {dims} entries, got [{string.Join(", ", v)}].", name);
        foreach (var e in v)
            if (e < min)
                throw new ArgumentOutOfRangeException(name, e, $"{layer}: every {name} entry must be at least {min}, got [{string.Join(", ", v)}].");
        return (int[])v.Clone();
    }

    public static OpException InputError(string layer, Tensor x, string reason) => new(layer, [x.Spec], reason, LayerPath.Current);

    public static OpException InputError(string layer, IReadOnlyList<Tensor> xs, string reason) =>
        new(layer, xs.Select(t => t.Spec).ToArray(), reason, LayerPath.Current);

    public static void Floating(string layer, Tensor x)
    {
        if (!x.DType.IsFloating()) throw InputError(layer, x, $"expects a floating input, got {x.DType.Name()}");
    }

    // Runs `f` on a batched view of an input that may lack the batch axis (PyTorch's "unbatched" inputs).
    public static Tensor WithOptionalBatch(string layer, Tensor x, int batchedRank, string layout, Func<Tensor, Tensor> f)
    {
        if (x.Rank == batchedRank) return f(x);
        if (x.Rank == batchedRank - 1) return Ops.Squeeze(f(Ops.Unsqueeze(x, 0)), 0);
        throw InputError(layer, x, $"expects a rank-{batchedRank} {layout} or rank-{batchedRank - 1} unbatched input, got rank {x.Rank}");
    }
}
