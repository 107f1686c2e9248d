using DualFramework.Losses;
using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>
    /// ONNX random ops take a float seed: fold our 64-bit op seed into 24 bits so it is exact in a float. Equal seeds give
    /// equal values in one runtime; the values differ from libtorch's generator.
    /// </summary>
    internal static float OnnxSeed(ulong seed) => (seed ^ (seed >> 24) ^ (seed >> 48)) & 0xFFFFFF;

    /// <summary>The dtype ORT's random ops can draw in for <paramref name="dt"/> (half precision drawn as float32 and rounded).</summary>
    private static DType RandomDType(DType dt) => dt is DType.Float32 or DType.Float64 ? dt : DType.Float32;

    private static void AddCreation(Action<Op, Action<LoweringContext>, int> add)
    {
        void Add(Op op, Action<LoweringContext> f) => add(op, f, OnnxExportOptions.MinOpset);

        Add(OpSet.Full, c =>
        {
            var a = c.Attrs<FullAttrs>();
            var gen = a.DType == DType.BFloat16 ? DType.Float32 : a.DType;
            var y = c.Op("ConstantOfShape", [c.Ints(a.Shape)], A.T("value", LoweringContext.OneElement(a.Value, gen)));
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
        Add(OpSet.RandomUniform, c =>
        {
            var a = c.Attrs<RandomUniformAttrs>();
            var gen = RandomDType(a.DType);
            var y = c.Op("RandomUniform", [], A.I("dtype", (long)OnnxTypes.ToOnnx(gen)), A.F("low", a.Low), A.F("high", a.High),
                A.F("seed", OnnxSeed(a.Seed)), A.Ints("shape", a.Shape));
            Finish(c, 0, y, gen);
        });
        Add(OpSet.RandomNormal, c =>
        {
            var a = c.Attrs<RandomNormalAttrs>();
            var gen = RandomDType(a.DType);
            var y = c.Op("RandomNormal", [], A.I("dtype", (long)OnnxTypes.ToOnnx(gen)), A.F("mean", a.Mean), A.F("scale", a.Std),
                A.F("seed", OnnxSeed(a.Seed)), A.Ints("shape", a.Shape));
            Finish(c, 0, y, gen);
        });
    }

    private static void AddTraining(Action<Op, Action<LoweringContext>, int> add)
    {
        void Add(Op op, Action<LoweringContext> f) => add(op, f, OnnxExportOptions.MinOpset);

        // keep = u ≥ p with u ~ U[0, 1) drawn in float32 (like the torch kernel); y = keep ? x/(1 − p) : 0.
        Add(OpSet.Dropout, c =>
        {
            var a = c.Attrs<DropoutAttrs>();
            var (ins, cd) = Widened(c);
            var u = c.Op("RandomUniformLike", [ins[0]], A.I("dtype", (long)OnnxTypes.ToOnnx(DType.Float32)), A.F("low", 0), A.F("high", 1), A.F("seed", OnnxSeed(a.Seed)));
            var keep = c.Out(1);
            c.Emit("GreaterOrEqual", [u, c.Scalar(a.P, DType.Float32)], [keep]);
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
                var loss = c.Op("SoftmaxCrossEntropyLoss", ins, A.S("reduction", reduction), A.I("ignore_index", a.IgnoreIndex));
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
        var logp = c.Op("LogSoftmax", [z], A.I("axis", 1));
        var valid = c.Op("Not", c.Op("Equal", t, c.Scalar(a.IgnoreIndex, DType.Int64)));
        var safe = c.Op("Where", valid, t, c.Scalar(0, DType.Int64));
        var range = c.Op("Range", c.Scalar(0, DType.Int64), c.Scalar(classes, DType.Int64), c.Scalar(1, DType.Int64));
        var onehot = c.Cast(c.Op("Equal", c.Op("Unsqueeze", safe, one), range), DType.Bool, cd);
        var validF = c.Cast(valid, DType.Bool, cd);
        string RowSum(string x) => c.Op("ReduceSum", [x, one], A.I("keepdims", 0));
        var wyValid = w == null ? validF : c.Op("Mul", RowSum(c.Op("Mul", onehot, w)), validF);
        var nll = c.Op("Mul", c.Op("Neg", RowSum(c.Op("Mul", onehot, logp))), wyValid);
        var smooth = c.Op("Mul", c.Op("Neg", RowSum(w == null ? logp : c.Op("Mul", logp, w))), validF);
        var loss = c.Op("Add", c.Op("Mul", nll, c.Scalar(1 - a.LabelSmoothing, cd)), c.Op("Mul", smooth, c.Scalar(a.LabelSmoothing / classes, cd)));
        return a.Reduction switch
        {
            Reduction.None => loss,
            Reduction.Sum => c.Op("ReduceSum", [loss], A.I("keepdims", 0)),
            _ => c.Op("Div", c.Op("ReduceSum", [loss], A.I("keepdims", 0)), c.Op("ReduceSum", [wyValid], A.I("keepdims", 0))),
        };
    }
}
