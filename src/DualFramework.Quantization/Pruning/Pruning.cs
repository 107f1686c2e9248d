using System.IO.Compression;
using DualFramework.NN;

namespace DualFramework.Quantization;

/// <summary>
/// Magnitude pruning (PyTorch's <c>torch.nn.utils.prune</c> vocabulary, TF-MOT's schedule: docs/quantization.md ("Magnitude pruning")). A pruned
/// parameter keeps its name and shape; its mask is a non-trainable buffer <c>&lt;name&gt;_mask</c> on the same layer
/// (1 kept, 0 pruned; saved in state dicts and checkpoints), the pruned entries are set to +0, and the parameter's
/// <see cref="Variable.Constraint"/> re-applies the mask after every optimizer update, eagerly and inside compiled steps,
/// so momentum or Adam moments never revive a pruned entry. The forward is unchanged, so exports need no mask.
/// </summary>
/// <remarks>
/// Which entries: the ones with the smallest |w|, entries already pruned first, ties broken by position (row-major index,
/// then the order of the targets); <c>amount</c> is the fraction of all entries pruned after the call (not of the
/// remaining ones, unlike PyTorch's repeated pruning), rounded as PyTorch does (round half to even). Prune before the
/// trainer's first step (or call <c>Trainer.Compile</c> again): compiled steps read the masks as state.
/// </remarks>
public static class Pruning
{
    /// <summary>
    /// Prunes the fraction <paramref name="amount"/> (in [0, 1]) of <paramref name="layer"/>'s own parameter
    /// <paramref name="parameterName"/> with the smallest magnitudes (count round(amount·n)).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="amount"/> is NaN or outside [0, 1].</exception>
    /// <exception cref="QuantizationException">The layer has no such parameter (the message names the layer).</exception>
    public static void L1Unstructured(Module layer, double amount, string parameterName = "weight")
    {
        PruningMasks.CheckAmount(amount, nameof(amount));
        var w = PruningMasks.Parameter(layer, parameterName);
        L1Unstructured(layer, PruningMasks.CountFor(amount, w.Spec.Shape.NumElements), parameterName);
    }

    /// <summary>Prunes exactly <paramref name="count"/> entries (0 … n) of <paramref name="layer"/>'s parameter
    /// <paramref name="parameterName"/>, the smallest in magnitude.</summary>
    public static void L1Unstructured(Module layer, long count, string parameterName = "weight")
    {
        var w = PruningMasks.Parameter(layer, parameterName);
        long n = w.Spec.Shape.NumElements;
        if (count < 0 || count > n) throw new ArgumentOutOfRangeException(nameof(count), count, $"{PruningMasks.LayerName(layer)}.{parameterName} has {n} entries");
        PruningMasks.Apply(layer, parameterName, w, PruningMasks.Select([w], count)[0]);
    }

    /// <summary>
    /// Prunes the fraction <paramref name="amount"/> of all entries of <paramref name="targets"/> taken together, with one
    /// magnitude threshold across them (PyTorch's <c>prune.global_unstructured</c> with L1): layers with smaller weights
    /// lose more. Each target gets its own mask.
    /// </summary>
    public static void GlobalUnstructured(IEnumerable<(Module Layer, string ParameterName)> targets, double amount)
    {
        ArgumentNullException.ThrowIfNull(targets);
        PruningMasks.CheckAmount(amount, nameof(amount));
        var list = targets.ToList();
        if (list.Count == 0) throw new ArgumentException("No parameters to prune.", nameof(targets));
        var weights = list.Select(t => PruningMasks.Parameter(t.Layer, t.ParameterName)).ToList();
        if (weights.Distinct().Count() != weights.Count) throw new ArgumentException("A parameter is listed twice.", nameof(targets));
        long total = weights.Sum(w => w.Spec.Shape.NumElements);
        var keep = PruningMasks.Select(weights, PruningMasks.CountFor(amount, total));
        for (int i = 0; i < list.Count; i++) PruningMasks.Apply(list[i].Layer, list[i].ParameterName, weights[i], keep[i]);
    }

    /// <summary>The usual pruning targets of <paramref name="model"/>: every layer's own parameter <c>weight</c> of rank
    /// ≥ 2 (linear and convolution kernels, embeddings; not biases, nor normalisation scales), in module order.</summary>
    public static IReadOnlyList<(Module Layer, string ParameterName)> Weights(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var found = new List<(Module, string)>();
        foreach (var (_, m) in model.NamedModules())
            if (m.NamedVariables().TryGetValue("weight", out var w) && w.Trainable && w.Spec.Shape.Rank >= 2 && w.Spec.DType.IsFloating())
                found.Add((m, "weight"));
        return found;
    }

    /// <summary>True when <paramref name="layer"/>'s parameter <paramref name="parameterName"/> carries a pruning mask.</summary>
    public static bool IsPruned(Module layer, string parameterName = "weight") =>
        PruningMasks.Find(PruningMasks.Parameter(layer, parameterName)) != null;

    /// <summary>The current mask of a pruned parameter (1 kept, 0 pruned; a live tensor, replaced by the next pruning).</summary>
    public static Tensor Mask(Module layer, string parameterName = "weight") =>
        (PruningMasks.Find(PruningMasks.Parameter(layer, parameterName))
         ?? throw new QuantizationException($"{PruningMasks.LayerName(layer)}.{parameterName} is not pruned.")).Mask.Value;

    /// <summary>
    /// Makes the pruning of <paramref name="layer"/>'s parameter permanent (PyTorch's <c>prune.remove</c>): the zeros stay,
    /// the <c>&lt;name&gt;_mask</c> buffer and the constraint go, and later updates may change every entry again.
    /// </summary>
    public static void Remove(Module layer, string parameterName = "weight")
    {
        var entry = PruningMasks.Find(PruningMasks.Parameter(layer, parameterName))
            ?? throw new QuantizationException($"{PruningMasks.LayerName(layer)}.{parameterName} is not pruned: nothing to remove.");
        PruningMasks.Remove(entry);
    }

    /// <summary><see cref="Remove"/> for every pruned parameter of <paramref name="model"/>; returns how many.</summary>
    public static int RemoveAll(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var entries = model.NamedVariables().Values.Select(PruningMasks.Find).OfType<PrunedParameter>().ToList();
        foreach (var e in entries) PruningMasks.Remove(e);
        return entries.Count;
    }

    /// <summary>Zeros and sizes of every parameter of <paramref name="model"/> (masks and other buffers left out), with totals.</summary>
    public static SparsityReport Report(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var buffers = model.NamedBuffers().Select(b => b.Name).ToHashSet();
        var rows = new List<SparsityRow>();
        foreach (var (name, v) in model.NamedVariables())
        {
            if (buffers.Contains(name) || !v.Spec.DType.IsFloating()) continue;
            var values = v.Value.ToFloatArray();
            rows.Add(new SparsityRow(name, values.LongLength, values.LongCount(x => x == 0), PruningMasks.Find(v) != null));
        }
        return new SparsityReport(rows);
    }

    /// <summary>Size in bytes of <paramref name="path"/>'s contents once gzip-compressed (<see cref="GZipStream"/>,
    /// <see cref="CompressionLevel.Optimal"/>): what pruning saves in a compressed download.</summary>
    public static long CompressedSize(string path)
    {
        using var input = File.OpenRead(path);
        var counter = new CountingStream();
        using (var gzip = new GZipStream(counter, CompressionLevel.Optimal, leaveOpen: true)) input.CopyTo(gzip);
        return counter.Length;
    }

    // Counts the bytes written to it and keeps none.
    private sealed class CountingStream : Stream
    {
        private long _length;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => _length += count;
        public override void Write(ReadOnlySpan<byte> buffer) => _length += buffer.Length;
    }
}
