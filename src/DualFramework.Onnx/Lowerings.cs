using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

/// <summary>The per-op lowering table: how each op of <see cref="OpSet"/> becomes ONNX nodes (see docs/onnx-lowering.md).</summary>
internal static partial class Lowerings
{
    private sealed record Entry(int MinOpset, Action<LoweringContext> Lower);

    private static readonly Dictionary<Op, Entry> Table = Build();

    public static IReadOnlyList<Op> Ops => Table.Keys.ToArray();

    public static int? MinOpset(Op op) => Table.TryGetValue(op, out var e) ? e.MinOpset : null;

    public static string? Reason(Op op, int opset) =>
        !Table.TryGetValue(op, out var e) ? "no ONNX lowering" : opset < e.MinOpset ? $"needs opset {e.MinOpset} or later (requested {opset})" : null;

    public static void Lower(LoweringContext ctx)
    {
        if (ctx.Node.SymbolicAttrs is { Count: > 0 } sym && !SymbolicAttrOps.Contains(ctx.Node.Op))
            throw new NotSupportedException($"ONNX lowering of {ctx.Node.Op.Name}{(ctx.Node.LayerPath is { } p ? $" ({p})" : "")}: attribute entries " +
                $"{string.Join(", ", sym)} depend on symbolic dims; only {string.Join(", ", SymbolicAttrOps.Select(o => o.Name))} compute theirs in the model.");
        Table[ctx.Node.Op].Lower(ctx);
    }

    // Ops whose lowerings compute size-dependent attributes from the inputs' shapes (the others bake them in).
    private static readonly HashSet<Op> SymbolicAttrOps = [OpSet.Reshape, OpSet.BroadcastTo, OpSet.Full, OpSet.Slice, OpSet.Split];

    /// <summary>Where the op families add their lowerings (one <c>Lowerings.&lt;Family&gt;.cs</c> per <c>OpSet.&lt;Family&gt;.cs</c>).</summary>
    private sealed class LoweringTable
    {
        public Dictionary<Op, Entry> Entries { get; } = [];

        /// <summary>Adds the lowering of <paramref name="op"/>, valid from <paramref name="minOpset"/>.</summary>
        public void Add(Op op, Action<LoweringContext> lower, int minOpset = OnnxExportOptions.MinOpset) => Entries.Add(op, new Entry(minOpset, lower));

        /// <summary>Adds the lowering of <paramref name="op"/>, which receives the node's attributes typed.</summary>
        public void Add<TAttrs>(Op<TAttrs> op, Action<LoweringContext, TAttrs> lower, int minOpset = OnnxExportOptions.MinOpset)
            where TAttrs : OpAttrs =>
            Add(op, c => lower(c, (TAttrs)c.Node.Attrs), minOpset);
    }

    private static Dictionary<Op, Entry> Build()
    {
        var t = new LoweringTable();
        AddConv(t);
        AddCreation(t);
        AddElementwise(t);
        AddLinalg(t);
        AddLoss(t);
        AddMath(t);
        AddNorm(t);
        AddOneHot(t);
        AddPad(t);
        AddGridSample(t);
        AddRecurrent(t);
        AddOptim(t);
        AddPool(t);
        AddQuantize(t);
        AddRandom(t);
        AddReductions(t);
        AddScatter(t);
        AddShape(t);
        AddSoftmax(t);
        AddTake(t);
        AddTopK(t);
        return t.Entries;
    }

    /// <summary>
    /// The dtype an elementwise op computes in. ORT's CPU kernels cover few half-precision and 8-bit integer types, so
    /// those are computed in float32 / int32 and rounded once at the end (libtorch also computes half precision in float).
    /// </summary>
    private static DType Compute(DType dt, bool smallInts = true) =>
        dt is DType.Float16 or DType.BFloat16 ? DType.Float32 : smallInts && dt is DType.Int8 or DType.UInt8 ? DType.Int32 : dt;

    /// <summary>Binds output <paramref name="i"/> to <paramref name="y"/> (of dtype <paramref name="from"/>), casting to the output dtype if needed.</summary>
    private static void Finish(LoweringContext c, int i, string y, DType from)
    {
        var to = c.OutSpec(i).DType;
        if (from == to) c.Set(i, y);
        else c.Result(i, "Cast", [y], OnnxAttr.Int("to", (long)OnnxTypes.ToOnnx(to)));
    }

    private static void Unary(LoweringContext c, Func<string, DType, string> f, bool smallInts = true)
    {
        var dt = c.InSpec(0).DType;
        var cd = Compute(dt, smallInts);
        Finish(c, 0, f(c.Cast(c.In(0), dt, cd), cd), cd);
    }

    private static void Binary(LoweringContext c, Func<string, string, DType, string> f, bool smallInts = true)
    {
        var dt = c.InSpec(0).DType;
        var cd = Compute(dt, smallInts);
        var y = f(c.Cast(c.In(0), dt, cd), c.Cast(c.In(1), dt, cd), cd);
        Finish(c, 0, y, c.OutSpec(0).DType == DType.Bool ? DType.Bool : cd);
    }

    /// <summary>Two independent flat hashes per element of <paramref name="shape"/>: element i uses counters 2i and 2i + 1.</summary>
    private static (string H1, string H2) TwoHashes(LoweringContext c, long[] shape, ulong seed)
    {
        long n = NumElements(shape);
        return (CounterHash(c, Counters(c, n, 2, 0), 2 * n, seed), CounterHash(c, Counters(c, n, 2, 1), 2 * n, seed));
    }

    private static long NumElements(long[] shape) => shape.Aggregate(1L, (p, d) => p * d);

    /// <summary>The flat int64 counters offset, offset + stride, … of <paramref name="n"/> elements.</summary>
    private static string Counters(LoweringContext c, long n, long stride, long offset) =>
        c.Op("Range", c.Scalar(offset, DType.Int64), c.Scalar(offset + n * stride, DType.Int64), c.Scalar(stride, DType.Int64));

    /// <summary>Constants of the counter hash: A, B odd multipliers; C1, C2 odd offsets (all below 2³¹, so that no int64
    /// intermediate overflows).</summary>
    internal const long HashA = 0x2C9E2D51, HashB = 0x3C6EF373, HashC1 = 0x2F1B9C55, HashC2 = 0x19D6A5E3;

    /// <summary>
    /// The counter hash behind every random op of the graph backend (dropout masks, uniform and normal values): for each
    /// int64 counter i of <paramref name="counters"/> under a seed split into keys k1, k2 &lt; 2³¹ (60 effective bits: the keys act mod 2³⁰)
    /// (<see cref="RandomSeedInputs"/>), a value uniform on [0, 2³⁰), from int64 ops of opset 13 (bitwise ops need opset 18):
    /// <c>v = ((i + k1)·A + k2) mod 2³⁰; v = ⌊v·(2v + C1)/2¹⁵⌋ mod 2³⁰; v = (v·B + k1) mod 2³⁰;
    /// v = ⌊v·(2v + C2)/2¹⁵⌋ mod 2³⁰</c>. The affine steps spread the counter; <c>v·(2v + c)</c> with c odd is a
    /// permutation of the integers mod 2ⁿ for every n (so its middle bits, unlike a plain square's, are not confined to
    /// quadratic residues) and makes the hash non-linear. Every intermediate stays below 2⁶³. The first step reduces the
    /// counter mod 2³⁰, so counters must stay below 2³⁰ (<paramref name="count"/> bounds them) or values would repeat. Not
    /// cryptographic: kept fractions, moments, serial and cross-seed correlation are within sampling noise (docs/graph-backend.md).
    /// The seed's keys are the graph inputs named by <see cref="RandomSeedInputs.InputName"/> when the graph has them
    /// (compiled functions, eager one-node sessions), constants otherwise.
    /// </summary>
    private static string CounterHash(LoweringContext c, string counters, long count, ulong seed)
    {
        if (count > HashLevels)
            throw new InvalidOperationException($"The counter hash of {c.Node.Op.Name} distinguishes 2³⁰ counters; {count} are needed.");
        string k1 = c.GraphInput(RandomSeedInputs.InputName(seed, false)) ?? c.Scalar(RandomSeedInputs.Low(seed), DType.Int64);
        string k2 = c.GraphInput(RandomSeedInputs.InputName(seed, true)) ?? c.Scalar(RandomSeedInputs.High(seed), DType.Int64);
        string m = c.Scalar(HashLevels, DType.Int64), shift = c.Scalar(1L << 15, DType.Int64), two = c.Scalar(2, DType.Int64);
        string I(long v) => c.Scalar(v, DType.Int64);
        string Permute(string v, long odd) => c.Op("Mod", c.Op("Div", c.Op("Mul", v, c.Op("Add", c.Op("Mul", v, two), I(odd))), shift), m);
        var v = c.Op("Mod", c.Op("Add", c.Op("Mul", c.Op("Add", counters, k1), I(HashA)), k2), m);
        v = Permute(v, HashC1);
        v = c.Op("Mod", c.Op("Add", c.Op("Mul", v, I(HashB)), k1), m);
        return Permute(v, HashC2);
    }

    /// <summary>All operands of the node cast to their compute dtype (half precision and 8-bit ints widened).</summary>
    private static (string[] ins, DType cd) Widened(LoweringContext c, int count = -1)
    {
        var dt = c.InSpec(0).DType;
        var cd = Compute(dt);
        if (count < 0) count = c.InCount;
        return (Enumerable.Range(0, count).Select(i => c.Cast(c.In(i), c.InSpec(i).DType, c.InSpec(i).DType == dt ? cd : c.InSpec(i).DType)).ToArray(), cd);
    }

    private static long[] Pads(long[] p) => [.. p, .. p];
}
