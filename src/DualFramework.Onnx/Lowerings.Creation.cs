using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the creation family (<c>OpSet.Creation.cs</c>).</summary>
    private static void AddCreation(LoweringTable t)
    {
        t.Add(OpSet.Full, (c, a) =>
        {
            var gen = a.DType == DType.BFloat16 ? DType.Float32 : a.DType;
            if (c.Node.SymbolicAttrs?.FirstOrDefault(d => d.Property == nameof(a.Value)) is { } value)
            {
                // A fill value that is a size (e.g. a mean's count): read from the inputs' shapes, then broadcast.
                var v = c.Cast(c.Op("Reshape", c.DimTensor(value.Dim), c.Ints()), DType.Int64, gen);
                Finish(c, 0, a.Shape.Length == 0 && !c.OutIsSymbolic(0) ? v : c.Op("Expand", v, c.OutIsSymbolic(0) ? c.OutShape(0) : c.Ints(a.Shape)), gen);
                return;
            }
            var y = c.Op("ConstantOfShape", [c.OutIsSymbolic(0) ? c.OutShape(0) : c.Ints(a.Shape)], OnnxAttr.Tensor("value", LoweringContext.OneElement(a.Value, gen)));
            Finish(c, 0, y, gen);
        });
        // Element i = start + i·step evaluated in float64 (int64 for integer dtypes), then converted, as the op defines it;
        // Range itself would accumulate in the output dtype.
        t.Add(OpSet.Arange, (c, a) =>
        {
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
        t.Add(OpSet.Eye, (c, a) =>
        {
            string Range(long n) => c.Op("Range", c.Scalar(0, DType.Int64), c.Scalar(n, DType.Int64), c.Scalar(1, DType.Int64));
            var hit = c.Op("Equal", c.Op("Unsqueeze", Range(a.Rows), c.Ints(1)), Range(a.Cols));
            Finish(c, 0, hit, DType.Bool);
        });
    }
}
