using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the reductions family (<c>OpSet.Reductions.cs</c>).</summary>
    private static void AddReductions(LoweringTable t)
    {
        // ReduceMean/Max/Min keep the axes attribute until opset 18.
        void AxesAttr(Op op, string onnx) => t.Add(op, c =>
        {
            var a = c.Attrs<ReduceAttrs>();
            var dt = c.InSpec(0).DType;
            var cd = Compute(dt);
            var attrs = new List<Proto.AttributeProto> { OnnxAttr.Int("keepdims", a.KeepDims ? 1 : 0) };
            if (a.Axes.Length > 0) attrs.Add(OnnxAttr.Ints("axes", a.Axes));
            Finish(c, 0, c.Op(onnx, [c.Cast(c.In(0), dt, cd)], attrs.ToArray()), cd);
        });
        void Arg(Op op, string onnx) => t.Add(op, c =>
        {
            var a = c.Attrs<ArgReduceAttrs>();
            var dt = c.InSpec(0).DType;
            var x = c.Cast(c.In(0), dt, Compute(dt));
            if (a.Axis is { } axis)
            {
                c.Result(0, onnx, [x], OnnxAttr.Int("axis", axis), OnnxAttr.Int("keepdims", a.KeepDims ? 1 : 0), OnnxAttr.Int("select_last_index", 0));
                return;
            }
            // Flattened mode: the row-major flat index of the (first) extreme element.
            var flat = c.Op("Reshape", x, c.Ints(-1));
            var idx = c.Op(onnx, [flat], OnnxAttr.Int("axis", 0), OnnxAttr.Int("keepdims", 0), OnnxAttr.Int("select_last_index", 0));
            c.Result(0, "Reshape", [idx, c.Ints(c.OutSpec(0).Shape.ToArray())]);
        });
        // ReduceSum takes its axes as an input from opset 13; omitting it reduces every axis (our empty Axes).
        t.Add(OpSet.Sum, (c, a) =>
        {
            DType dt = c.InSpec(0).DType, outDt = c.OutSpec(0).DType;
            // int8/uint8/int32 sum to int64 (cast first, so nothing wraps); half precision accumulates in float32.
            var cd = dt is DType.Float16 or DType.BFloat16 ? DType.Float32 : outDt;
            var x = c.Cast(c.In(0), dt, cd);
            string[] ins = a.Axes.Length == 0 ? [x] : [x, c.Ints(a.Axes)];
            Finish(c, 0, c.Op("ReduceSum", ins, OnnxAttr.Int("keepdims", a.KeepDims ? 1 : 0)), cd);
        });
        AxesAttr(OpSet.Mean, "ReduceMean");
        AxesAttr(OpSet.Max, "ReduceMax");
        AxesAttr(OpSet.Min, "ReduceMin");
        Arg(OpSet.ArgMax, "ArgMax");
        Arg(OpSet.ArgMin, "ArgMin");
    }
}
