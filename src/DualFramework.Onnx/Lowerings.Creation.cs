using DualFramework.IR;
using DualFramework.Losses;
using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Counter-hash resolution: each hash is uniform on [0, 2³⁰).</summary>
    private const long HashLevels = 1L << 30;

    private static void AddCreation(Action<Op, Action<LoweringContext>, int> add)
    {
        void Add(Op op, Action<LoweringContext> f) => add(op, f, OnnxExportOptions.MinOpset);

        Add(OpSet.Full, c =>
        {
            var a = c.Attrs<FullAttrs>();
            var gen = a.DType == DType.BFloat16 ? DType.Float32 : a.DType;
            var y = c.Op("ConstantOfShape", [c.Ints(a.Shape)], OnnxAttr.Tensor("value", LoweringContext.OneElement(a.Value, gen)));
            Finish(c, 0, y, gen);
        });
        // Element i = start + i·step evaluated in float64 (int64 for integer dtypes), then converted, as the op defines it;
        // Range itself would accumulate in the output dtype.
        Add(OpSet.Arange, c =>
        {
            var a = c.Attrs<ArangeAttrs>();
            long n = c.OutSpec(0).Shape[0];
            if (a.DType.IsInteger())
            {
                long start = (long)a.Start, step = (long)a.Step;
                var r = c.Op("Range", c.Scalar(start, DType.Int64), c.Scalar(start + n * step, DType.Int64), c.Scalar(step, DType.Int64));
                Finish(c, 0, r, DType.Int64);
                return;
            }
            var i = c.Cast(c.Op("Range", c.Scalar(0, DType.Int64), c.Scalar(n, DType.Int64), c.Scalar(1, DType.Int64)), DType.Int64, DType.Float64);
            var v = c.Op("Add", c.Op("Mul", i, c.Scalar(a.Step, DType.Float64)), c.Scalar(a.Start, DType.Float64));
            Finish(c, 0, v, DType.Float64);
        });
        // eye as range(rows)[:, None] == range(cols), converted to the dtype.
        Add(OpSet.Eye, c =>
        {
            var a = c.Attrs<EyeAttrs>();
            string Range(long n) => c.Op("Range", c.Scalar(0, DType.Int64), c.Scalar(n, DType.Int64), c.Scalar(1, DType.Int64));
            var hit = c.Op("Equal", c.Op("Unsqueeze", Range(a.Rows), c.Ints(1)), Range(a.Cols));
            Finish(c, 0, hit, DType.Bool);
        });
        // Uniform and normal values from the dropout counter hash (CounterHash), so they are pure functions of the seed, which
        // is a per-run graph input inside a compiled function and on the eager graph backend. Computed in float64, then
        // converted to the declared dtype.
        Add(OpSet.RandomUniform, c =>
        {
            var a = c.Attrs<RandomUniformAttrs>();
            var u = Uniform01(c, a.Shape, a.Seed, a.DType == DType.Float64);
            var y = c.Op("Add", c.Op("Mul", u, c.Scalar(a.High - a.Low, DType.Float64)), c.Scalar(a.Low, DType.Float64));
            Finish(c, 0, c.Op("Reshape", y, c.Ints(a.Shape)), DType.Float64);
        });
        // Box–Muller from two hashes per element: z = √(−2·ln u₁)·cos(2π·u₂) with u₁ = (h₁ + ½)/2³⁰ ∈ (0, 1), so ln never
        // sees 0 and |z| ≤ √(62·ln 2) ≈ 6.55 (the normal's mass beyond that is 6·10⁻¹¹).
        Add(OpSet.RandomNormal, c =>
        {
            var a = c.Attrs<RandomNormalAttrs>();
            var (h1, h2) = TwoHashes(c, a.Shape, a.Seed);
            string Level(string h, double offset) =>
                c.Op("Mul", c.Op("Add", c.Cast(h, DType.Int64, DType.Float64), c.Scalar(offset, DType.Float64)), c.Scalar(1.0 / HashLevels, DType.Float64));
            var radius = c.Op("Sqrt", c.Op("Mul", c.Op("Log", Level(h1, 0.5)), c.Scalar(-2, DType.Float64)));
            var z = c.Op("Mul", radius, c.Op("Cos", c.Op("Mul", Level(h2, 0), c.Scalar(2 * Math.PI, DType.Float64))));
            var y = c.Op("Add", c.Op("Mul", z, c.Scalar(a.Std, DType.Float64)), c.Scalar(a.Mean, DType.Float64));
            Finish(c, 0, c.Op("Reshape", y, c.Ints(a.Shape)), DType.Float64);
        });
    }

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

    private static void AddTraining(Action<Op, Action<LoweringContext>, int> add)
    {
        void Add(Op op, Action<LoweringContext> f) => add(op, f, OnnxExportOptions.MinOpset);

        // keep = h(i) ≥ ⌈p·2³⁰⌉ with h the counter hash of the element index under the op's seed (see DropoutBits);
        // y = keep ? x/(1 − p) : 0. The seed is a per-run graph input inside a compiled function, a constant otherwise.
        Add(OpSet.Dropout, c =>
        {
            var a = c.Attrs<DropoutAttrs>();
            var (ins, cd) = Widened(c);
            var keep = c.Out(1);
            var i = c.Op("Reshape", c.Op("Range", c.Scalar(0, DType.Int64), c.Op("Size", ins[0]), c.Scalar(1, DType.Int64)), c.Op("Shape", ins[0]));
            var bits = CounterHash(c, i, c.InSpec(0).Shape.NumElements, a.Seed);
            c.Emit("GreaterOrEqual", [bits, c.Scalar(DropoutThreshold(a.P), DType.Int64)], [keep]);
            var y = c.Op("Where", keep, c.Op("Mul", ins[0], c.Scalar(DropoutOp.Scale(a.P), cd)), c.Scalar(0, cd));
            Finish(c, 0, y, cd);
            c.Set(1, keep);
        });
        Add(OpSet.CrossEntropy, c =>
        {
            var a = c.Attrs<CrossEntropyAttrs>();
            var (ins, cd) = Widened(c);
            string reduction = a.Reduction switch { Reduction.Sum => "sum", Reduction.None => "none", _ => "mean" };
            if (a.LabelSmoothing == 0)
            {
                var loss = c.Op("SoftmaxCrossEntropyLoss", ins, OnnxAttr.String("reduction", reduction), OnnxAttr.Int("ignore_index", a.IgnoreIndex));
                Finish(c, 0, loss, cd);
                return;
            }
            Finish(c, 0, SmoothedCrossEntropy(c, a, ins, cd), cd);
        });
        Add(OpSet.AdamUpdate, c =>
        {
            var a = c.Attrs<AdamUpdateAttrs>();
            var (ins, cd) = Widened(c);
            string p = ins[0], g = ins[1], m = ins[2], v = ins[3];
            var m2 = c.Op("Add", c.Op("Mul", m, c.Scalar(a.Beta1, cd)), c.Op("Mul", g, c.Scalar(1 - a.Beta1, cd)));
            var v2 = c.Op("Add", c.Op("Mul", v, c.Scalar(a.Beta2, cd)), c.Op("Mul", c.Op("Mul", g, g), c.Scalar(1 - a.Beta2, cd)));
            var denom = c.Op("Add", c.Op("Div", c.Op("Sqrt", v2), c.Scalar(a.SqrtBiasCorrection2, cd)), c.Scalar(a.Eps, cd));
            var p2 = c.Op("Sub", p, c.Op("Mul", c.Op("Div", m2, denom), c.Scalar(a.StepSize, cd)));
            Finish(c, 0, p2, cd);
            Finish(c, 1, m2, cd);
            Finish(c, 2, v2, cd);
        });
    }

    /// <summary>Constants of the counter hash: A, B odd multipliers; C1, C2 odd offsets (all below 2³¹, so that no int64
    /// intermediate overflows).</summary>
    internal const long HashA = 0x2C9E2D51, HashB = 0x3C6EF373, HashC1 = 0x2F1B9C55, HashC2 = 0x19D6A5E3;

    /// <summary>Dropout keeps an element when its 30-bit hash is at least this: P(keep) = 1 − p up to 2⁻³⁰.</summary>
    internal static long DropoutThreshold(double p) => (long)Math.Min(Math.Ceiling(p * HashLevels), HashLevels);

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

    /// <summary>
    /// PyTorch's label-smoothed cross-entropy (SoftmaxCrossEntropyLoss has no smoothing):
    /// (1−ε)·nll + ε/C·smooth with nll_i = −w_yᵢ·log p_i,yᵢ and smooth_i = −Σ_c w_c·log p_ic over non-ignored samples;
    /// the mean divides both by Σ_i w_yᵢ over non-ignored samples.
    /// </summary>
    private static string SmoothedCrossEntropy(LoweringContext c, CrossEntropyAttrs a, string[] ins, DType cd)
    {
        long classes = c.InSpec(0).Shape[1];
        string z = ins[0], t = ins[1];
        string? w = ins.Length == 3 ? ins[2] : null;
        var one = c.Ints(1);
        var logp = c.Op("LogSoftmax", [z], OnnxAttr.Int("axis", 1));
        var valid = c.Op("Not", c.Op("Equal", t, c.Scalar(a.IgnoreIndex, DType.Int64)));
        var safe = c.Op("Where", valid, t, c.Scalar(0, DType.Int64));
        var range = c.Op("Range", c.Scalar(0, DType.Int64), c.Scalar(classes, DType.Int64), c.Scalar(1, DType.Int64));
        var onehot = c.Cast(c.Op("Equal", c.Op("Unsqueeze", safe, one), range), DType.Bool, cd);
        var validF = c.Cast(valid, DType.Bool, cd);
        string RowSum(string x) => c.Op("ReduceSum", [x, one], OnnxAttr.Int("keepdims", 0));
        var wyValid = w == null ? validF : c.Op("Mul", RowSum(c.Op("Mul", onehot, w)), validF);
        var nll = c.Op("Mul", c.Op("Neg", RowSum(c.Op("Mul", onehot, logp))), wyValid);
        var smooth = c.Op("Mul", c.Op("Neg", RowSum(w == null ? logp : c.Op("Mul", logp, w))), validF);
        var loss = c.Op("Add", c.Op("Mul", nll, c.Scalar(1 - a.LabelSmoothing, cd)), c.Op("Mul", smooth, c.Scalar(a.LabelSmoothing / classes, cd)));
        return a.Reduction switch
        {
            Reduction.None => loss,
            Reduction.Sum => c.Op("ReduceSum", [loss], OnnxAttr.Int("keepdims", 0)),
            _ => c.Op("Div", c.Op("ReduceSum", [loss], OnnxAttr.Int("keepdims", 0)), c.Op("ReduceSum", [wyValid], OnnxAttr.Int("keepdims", 0))),
        };
    }
}
