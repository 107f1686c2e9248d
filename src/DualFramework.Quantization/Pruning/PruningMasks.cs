using System.Globalization;
using System.Runtime.CompilerServices;
using DualFramework.Autodiff;
using DualFramework.IR;
using DualFramework.NN;

namespace DualFramework.Quantization;

/// <summary>A pruned parameter: its layer, the parameter, the mask buffer and the constraint that was there before.</summary>
internal sealed record PrunedParameter(Module Layer, string Name, Variable Weight, Variable Mask, Func<Tensor, Tensor>? Previous);

/// <summary>
/// The mask machinery behind <see cref="Pruning"/>: target lookup, host-side selection of the entries to prune, the mask
/// buffer and the optimizer constraint that keeps pruned entries at zero.
/// </summary>
internal static class PruningMasks
{
    /// <summary>Suffix of a mask buffer's name (PyTorch's <c>weight_mask</c>).</summary>
    public const string MaskSuffix = "_mask";

    // Keyed by the weight variable: a mask belongs to a parameter, whichever module enumerates it.
    private static readonly ConditionalWeakTable<Variable, PrunedParameter> Registry = [];

    public static PrunedParameter? Find(Variable weight) => Registry.TryGetValue(weight, out var p) ? p : null;

    public static string LayerName(Module layer) => layer.FullName.Length == 0 ? $"{layer.GetType().Name} (root)" : $"{layer.GetType().Name} '{layer.FullName}'";

    /// <summary>The layer's own parameter <paramref name="name"/>, or an error naming the layer and its parameters.</summary>
    public static Variable Parameter(Module layer, string name)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(name);
        var variables = layer.NamedVariables();
        var buffers = layer.NamedBuffers().Select(b => b.Name).ToHashSet();
        // Own parameters only: a dotted name would reach into a child, whose mask would then be registered on the wrong layer.
        var own = variables.Where(kv => !kv.Key.Contains('.') && !buffers.Contains(kv.Key)).Select(kv => kv.Key).ToList();
        if (name.Contains('.') || !own.Contains(name))
            throw new QuantizationException($"{LayerName(layer)} has no parameter '{name}' to prune (its own parameters: " +
                $"{(own.Count == 0 ? "none" : string.Join(", ", own))}){(name.Contains('.') ? "; pass the layer that owns it" : "")}.");
        var v = variables[name];
        if (!v.Spec.DType.IsFloating()) throw new QuantizationException($"{LayerName(layer)}.{name} is {v.Spec}: only floating parameters can be pruned.");
        return v;
    }

    /// <summary>Checks a fraction: finite and within [0, 1].</summary>
    public static void CheckAmount(double amount, string paramName)
    {
        if (!(amount >= 0 && amount <= 1))
            throw new ArgumentOutOfRangeException(paramName, amount, "the fraction to prune must be within [0, 1] (and not NaN)");
    }

    /// <summary>PyTorch's count for a fraction: round(amount·n), ties to even as Python's round.</summary>
    public static long CountFor(double amount, long elements) => (long)Math.Round(amount * elements, MidpointRounding.ToEven);

    /// <summary>
    /// Selects the <paramref name="count"/> entries to prune over <paramref name="targets"/> taken together: entries already
    /// pruned first (so masks only grow while the amount grows), then by increasing |w|, ties broken by position (targets
    /// in the given order, then row-major index). NaN magnitudes rank last. Returns one keep-mask (1 kept, 0 pruned) per target.
    /// </summary>
    public static float[][] Select(IReadOnlyList<Variable> targets, long count)
    {
        var keys = new float[targets.Count][];
        long total = 0;
        for (int t = 0; t < targets.Count; t++)
        {
            var w = targets[t].Value.ToFloatArray();
            var mask = Find(targets[t])?.Mask.Value.ToFloatArray();
            var k = new float[w.Length];
            for (int i = 0; i < w.Length; i++)
                k[i] = mask != null && mask[i] == 0 ? -1f : float.IsNaN(w[i]) ? float.PositiveInfinity : Math.Abs(w[i]);
            keys[t] = k;
            total += k.Length;
        }
        if (count < 0 || count > total) throw new ArgumentOutOfRangeException(nameof(count), count, $"cannot prune {count} of {total} entries");
        var result = keys.Select(k => Enumerable.Repeat(1f, k.Length).ToArray()).ToArray();
        if (count == 0) return result;
        // The count-th smallest key is the threshold: every key below it is pruned, and keys equal to it in position order
        // until the count is reached.
        var all = new float[total];
        long o = 0;
        foreach (var k in keys) { k.CopyTo(all, o); o += k.Length; }
        Array.Sort(all);
        float threshold = all[count - 1];
        long below = 0;
        foreach (var v in all) { if (v < threshold) below++; else break; }
        long atThreshold = count - below;
        for (int t = 0; t < keys.Length; t++)
            for (int i = 0; i < keys[t].Length; i++)
            {
                if (keys[t][i] < threshold) result[t][i] = 0;
                else if (keys[t][i] == threshold && atThreshold > 0) { result[t][i] = 0; atThreshold--; }
            }
        return result;
    }

    /// <summary>Sets (creating on first use) the mask of <paramref name="weight"/> and zeros its pruned entries.</summary>
    public static PrunedParameter Apply(Module layer, string name, Variable weight, float[] keep)
    {
        var backend = weight.Value.Backend;
        using var scope = TensorScope.Begin();
        using var noGrad = Autograd.NoGrad();
        var mask = Tensor.FromArray(keep, weight.Spec.Shape, backend);
        if (weight.Spec.DType != DType.Float32) mask = Ops.Cast(mask, weight.Spec.DType);
        var entry = Find(weight);
        if (entry == null)
        {
            var buffer = layer.AddBuffer(name + MaskSuffix, mask);
            var previous = weight.Constraint;
            entry = new PrunedParameter(layer, name, weight, buffer, previous);
            weight.Constraint = Constraint(entry);
            Registry.Add(weight, entry);
        }
        else entry.Mask.Assign(mask);
        weight.Assign(Masked(weight.Value, entry.Mask));
        return entry;
    }

    /// <summary>Drops the mask of <paramref name="entry"/>, keeping the weight's zeros, and restores the earlier constraint.</summary>
    public static void Remove(PrunedParameter entry)
    {
        using (TensorScope.Begin())
        using (Autograd.NoGrad())
            entry.Weight.Assign(Masked(entry.Weight.Value, entry.Mask));
        entry.Weight.Constraint = entry.Previous;
        entry.Layer.RemoveBuffer(entry.Name + MaskSuffix);
        Registry.Remove(entry.Weight);
    }

    // The optimizer applies this after every update of the weight. It reads the mask variable's value when called, so inside
    // a compiled step the mask is a graph input (the step's state) and a new mask reaches the compiled graph unchanged.
    private static Func<Tensor, Tensor> Constraint(PrunedParameter entry) => w =>
    {
        var before = entry.Previous?.Invoke(w) ?? w;
        if (before.Backend is SymbolicBackend && entry.Mask.Value.Backend is not SymbolicBackend)
            throw new QuantizationException(
                $"The pruning mask '{entry.Mask.Name}' of {LayerName(entry.Layer)} is not part of this compiled step's state, so it " +
                "would be baked in as a constant: prune before the trainer's first step, or call Trainer.Compile again after pruning " +
                "(with a new optimizer).");
        return Masked(before, entry.Mask);
    };

    // where(mask > 0, w, +0): exact zeros, without the −0 that w·0 gives for negative weights (sign bits would cost
    // compression and look unpruned to a bitwise check).
    private static Tensor Masked(Tensor w, Variable mask)
    {
        var m = mask.Value.DType == w.DType ? mask.Value : Ops.Cast(mask.Value, w.DType);
        return Ops.Where(Ops.Greater(m, 0.0), w, 0.0);
    }

    public static string Percent(double fraction) => (100 * fraction).ToString("F2", CultureInfo.InvariantCulture) + "%";
}
