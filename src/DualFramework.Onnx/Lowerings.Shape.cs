using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    // Reshape's target as constants (0 = the input's dim at that position, one −1) when every symbolic output dim is either
    // the input's at the same axis or the only one left; null when it must be computed. No constant 0 may appear (it
    // would mean "copy"), nor an empty result (−1 cannot be inferred from 0 elements).
    private static long[]? ConstantTarget(DualFramework.IR.Value x, DualFramework.IR.Value y)
    {
        if (y.Spec.Shape.NumElements == 0) return null;
        var target = new long[y.Spec.Shape.Rank];
        int infer = -1;
        for (int i = 0; i < target.Length; i++)
        {
            var d = y.DimAt(i);
            if (d.IsConstant) target[i] = d.Value;
            else if (i < x.Spec.Shape.Rank && x.DimAt(i).Equals(d)) target[i] = 0;
            else if (infer < 0) (infer, target[i]) = (i, -1);
            else return null;
            if (d.IsConstant && d.Value == 0) return null;
        }
        return target;
    }

    // slice_scatter with symbolic dims (unit steps): the source padded to the base's shape (pads computed from the sizes)
    // replaces the base where a padded mask of ones is set, instead of a coordinate table whose size follows the symbols.
    private static void SymbolicSliceScatter(LoweringContext c, SliceAttrs a)
    {
        if (a.Steps.Any(s => s != 1) || c.Node.SymbolicAttrs is { Count: > 0 })
            throw new NotSupportedException("slice_scatter with symbolic dims is lowered for unit steps and fixed starts only.");
        DualFramework.IR.Value b = c.Node.Inputs[0], src = c.Node.Inputs[1];
        int r = b.Spec.Shape.Rank;
        var pads = new DualFramework.IR.Dim[2 * r];
        for (int d = 0; d < r; d++) pads[d] = pads[r + d] = 0;
        for (int k = 0; k < a.Axes.Length; k++)
        {
            int axis = a.Axes[k];
            pads[axis] = a.Starts[k];
            pads[r + axis] = b.DimAt(axis) - a.Starts[k] - src.DimAt(axis);
        }
        var p = c.Dims(pads);
        var padded = c.Op("Pad", c.In(1), p);
        var ones = c.Op("ConstantOfShape", [c.Op("Shape", c.In(1))], OnnxAttr.Tensor("value", LoweringContext.OneElement(1, DType.UInt8)));
        var mask = c.Cast(c.Op("Pad", ones, p), DType.UInt8, DType.Bool);
        c.Result(0, "Where", [mask, padded, c.In(0)]);
    }

    /// <summary>Lowerings of the shape family (<c>OpSet.Shape.cs</c>).</summary>
    private static void AddShape(LoweringTable t)
    {
        t.Add(OpSet.Reshape, c =>
        {
            Shape x = c.InSpec(0).Shape, y = c.OutSpec(0).Shape;
            var dims = y.ToArray();
            if (c.OutIsSymbolic(0))
            {
                // A constant target when it can say it: 0 copies an input dim in place, one −1 takes what is left
                // ([batch, seq, 384] → [−1, 384], [batch, 12, 32] ← [0, 384]…); else computed from the inputs' shapes.
                if (ConstantTarget(c.Node.Inputs[0], c.Node.Outputs[0]) is { } target) c.Result(0, "Reshape", [c.In(0), c.Ints(target)]);
                else if (c.Opset >= 14) c.Result(0, "Reshape", [c.In(0), c.OutShape(0)], OnnxAttr.Int("allowzero", 1));
                else c.Result(0, "Reshape", [c.In(0), c.OutShape(0)]);
                return;
            }
            if (y.NumElements == 0)
            {
                // An empty result: 0 in Reshape's shape means "copy" unless allowzero (opset 14) is set.
                if (c.Opset >= 14) c.Result(0, "Reshape", [c.In(0), c.Ints(dims)], OnnxAttr.Int("allowzero", 1));
                else c.Result(0, "ConstantOfShape", [c.Ints(dims)], OnnxAttr.Tensor("value", LoweringContext.OneElement(0, c.OutSpec(0).DType)));
                return;
            }
            // Copy a leading dim that reshape keeps (0 = "as in the input"), so a symbolic batch axis survives.
            if (x.Rank > 0 && y.Rank > 0 && x[0] == y[0]) dims[0] = 0;
            c.Result(0, "Reshape", [c.In(0), c.Ints(dims)]);
        });
        t.Add(OpSet.BroadcastTo, c =>
        {
            Shape x = c.InSpec(0).Shape, y = c.OutSpec(0).Shape;
            if (c.OutIsSymbolic(0))
            {
                c.Result(0, "Expand", [c.In(0), c.OutShape(0)]);
                return;
            }
            var dims = y.ToArray();
            // Expand broadcasts both ways: 1 keeps an input dim that already has the target size (and may be symbolic).
            for (int i = 0; i < dims.Length; i++)
            {
                int j = i - (y.Rank - x.Rank);
                if (j >= 0 && x[j] == y[i]) dims[i] = 1;
            }
            c.Result(0, "Expand", [c.In(0), c.Ints(dims)]);
        });
        t.Add(OpSet.Permute, (c, a) => c.Result(0, "Transpose", [c.In(0)], OnnxAttr.Ints("perm", a.Perm)));
        t.Add(OpSet.Concat, (c, a) => c.Result(0, "Concat", Enumerable.Range(0, c.InCount).Select(c.In).ToArray(), OnnxAttr.Int("axis", a.Axis)));
        // Opset 13+ Split takes the piece sizes as an input.
        t.Add(OpSet.Split, (c, a) =>
        {
            var outs = Enumerable.Range(0, a.Sizes.Length).Select(c.Out).ToArray();
            c.Emit("Split", [c.In(0), c.AttrInts(nameof(a.Sizes), a.Sizes)], outs, OnnxAttr.Int("axis", a.Axis));
            for (int i = 0; i < outs.Length; i++) c.Set(i, outs[i]);
        });
        t.Add(OpSet.Slice, (c, a) =>
        {
            if (a.Axes.Length == 0) c.Result(0, "Identity", [c.In(0)]);
            else c.Result(0, "Slice", [c.In(0), c.AttrInts(nameof(a.Starts), a.Starts), c.AttrInts(nameof(a.Ends), a.Ends), c.Ints(a.Axes), c.AttrInts(nameof(a.Steps), a.Steps)]);
        });
        // slice_scatter: ScatterND writes src at the coordinates of every slice element (a constant index tensor
        // [*region, rank]), which covers any steps.
        t.Add(OpSet.SliceScatter, (c, a) =>
        {
            if (c.Node.Inputs[0].HasSymbolicDims || c.Node.Inputs[1].HasSymbolicDims)
            {
                SymbolicSliceScatter(c, a);
                return;
            }
            Shape b = c.InSpec(0).Shape, region = c.InSpec(1).Shape;
            if (region.NumElements == 0)
            {
                c.Result(0, "Identity", [c.In(0)]);
                return;
            }
            int r = b.Rank;
            var start = new long[r];
            var step = Enumerable.Repeat(1L, r).ToArray();
            for (int k = 0; k < a.Axes.Length; k++)
            {
                start[a.Axes[k]] = a.Starts[k];
                step[a.Axes[k]] = a.Steps[k];
            }
            long n = region.NumElements;
            var idx = new long[n * r];
            var coord = new long[r];
            for (long e = 0; e < n; e++)
            {
                for (int d = 0; d < r; d++) idx[e * r + d] = start[d] + coord[d] * step[d];
                for (int d = r - 1; d >= 0; d--)
                {
                    if (++coord[d] < region[d]) break;
                    coord[d] = 0;
                }
            }
            var indices = c.IntTensor([.. region.ToArray(), r], idx);
            c.Result(0, "ScatterND", [c.In(0), indices, c.In(1)]);
        });
    }
}
