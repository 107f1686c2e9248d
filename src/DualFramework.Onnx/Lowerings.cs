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

    public static void Lower(LoweringContext ctx) => Table[ctx.Node.Op].Lower(ctx);

    private static Dictionary<Op, Entry> Build()
    {
        var t = new Dictionary<Op, Entry>();
        void Add(Op op, Action<LoweringContext> f, int minOpset = OnnxExportOptions.MinOpset) => t.Add(op, new Entry(minOpset, f));
        AddElementwise(Add);
        AddMath(Add);
        AddReductions(Add);
        AddShape(Add);
        AddIndexing(Add);
        AddNn(Add);
        AddCreation(Add);
        AddTraining(Add);
        return t;
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
}
