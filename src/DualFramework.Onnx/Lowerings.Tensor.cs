using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    private static void AddReductions(Action<Op, Action<LoweringContext>, int> add)
    {
        void Add(Op op, Action<LoweringContext> f) => add(op, f, OnnxExportOptions.MinOpset);

        // ReduceSum takes its axes as an input from opset 13; omitting it reduces every axis (our empty Axes).
        Add(OpSet.Sum, c =>
        {
            var a = c.Attrs<ReduceAttrs>();
            DType dt = c.InSpec(0).DType, outDt = c.OutSpec(0).DType;
            // int8/uint8/int32 sum to int64 (cast first, so nothing wraps); half precision accumulates in float32.
            var cd = dt is DType.Float16 or DType.BFloat16 ? DType.Float32 : outDt;
            var x = c.Cast(c.In(0), dt, cd);
            string[] ins = a.Axes.Length == 0 ? [x] : [x, c.Ints(a.Axes)];
            Finish(c, 0, c.Op("ReduceSum", ins, OnnxAttr.Int("keepdims", a.KeepDims ? 1 : 0)), cd);
        });
        // ReduceMean/Max/Min keep the axes attribute until opset 18.
        void AxesAttr(Op op, string onnx) => Add(op, c =>
        {
            var a = c.Attrs<ReduceAttrs>();
            var dt = c.InSpec(0).DType;
            var cd = Compute(dt);
            var attrs = new List<Proto.AttributeProto> { OnnxAttr.Int("keepdims", a.KeepDims ? 1 : 0) };
            if (a.Axes.Length > 0) attrs.Add(OnnxAttr.Ints("axes", a.Axes));
            Finish(c, 0, c.Op(onnx, [c.Cast(c.In(0), dt, cd)], attrs.ToArray()), cd);
        });
        AxesAttr(OpSet.Mean, "ReduceMean");
        AxesAttr(OpSet.Max, "ReduceMax");
        AxesAttr(OpSet.Min, "ReduceMin");

        void Arg(Op op, string onnx) => Add(op, c =>
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
        Arg(OpSet.ArgMax, "ArgMax");
        Arg(OpSet.ArgMin, "ArgMin");

        // Opset 13+ Softmax/LogSoftmax normalise along one axis (the pre-13 "flatten from axis" semantics are not used).
        void Soft(Op op, string onnx) => Add(op, c => Unary(c, (x, _) => c.Op(onnx, [x], OnnxAttr.Int("axis", c.Attrs<SoftmaxAttrs>().Axis))));
        Soft(OpSet.Softmax, "Softmax");
        Soft(OpSet.LogSoftmax, "LogSoftmax");
    }

    private static void AddShape(Action<Op, Action<LoweringContext>, int> add)
    {
        void Add(Op op, Action<LoweringContext> f) => add(op, f, OnnxExportOptions.MinOpset);

        Add(OpSet.Reshape, c =>
        {
            Shape x = c.InSpec(0).Shape, y = c.OutSpec(0).Shape;
            var dims = y.ToArray();
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
        Add(OpSet.BroadcastTo, c =>
        {
            Shape x = c.InSpec(0).Shape, y = c.OutSpec(0).Shape;
            var dims = y.ToArray();
            // Expand broadcasts both ways: 1 keeps an input dim that already has the target size (and may be symbolic).
            for (int i = 0; i < dims.Length; i++)
            {
                int j = i - (y.Rank - x.Rank);
                if (j >= 0 && x[j] == y[i]) dims[i] = 1;
            }
            c.Result(0, "Expand", [c.In(0), c.Ints(dims)]);
        });
        Add(OpSet.Permute, c => c.Result(0, "Transpose", [c.In(0)], OnnxAttr.Ints("perm", c.Attrs<PermuteAttrs>().Perm)));
        Add(OpSet.Concat, c => c.Result(0, "Concat", Enumerable.Range(0, c.InCount).Select(c.In).ToArray(), OnnxAttr.Int("axis", c.Attrs<ConcatAttrs>().Axis)));
        // Opset 13+ Split takes the piece sizes as an input.
        Add(OpSet.Split, c =>
        {
            var a = c.Attrs<SplitAttrs>();
            var outs = Enumerable.Range(0, a.Sizes.Length).Select(c.Out).ToArray();
            c.Emit("Split", [c.In(0), c.Ints(a.Sizes)], outs, OnnxAttr.Int("axis", a.Axis));
            for (int i = 0; i < outs.Length; i++) c.Set(i, outs[i]);
        });
        Add(OpSet.Slice, c =>
        {
            var a = c.Attrs<SliceAttrs>();
            if (a.Axes.Length == 0) c.Result(0, "Identity", [c.In(0)]);
            else c.Result(0, "Slice", [c.In(0), c.Ints(a.Starts), c.Ints(a.Ends), c.Ints(a.Axes), c.Ints(a.Steps)]);
        });
        // slice_scatter: ScatterND writes src at the coordinates of every slice element (a constant index tensor
        // [*region, rank]), which covers any steps.
        Add(OpSet.SliceScatter, c =>
        {
            var a = c.Attrs<SliceAttrs>();
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
            var indices = c.Const(DType.Int64, [.. region.ToArray(), r], System.Runtime.InteropServices.MemoryMarshal.AsBytes(idx.AsSpan()).ToArray());
            c.Result(0, "ScatterND", [c.In(0), indices, c.In(1)]);
        });
    }

    private static void AddIndexing(Action<Op, Action<LoweringContext>, int> add)
    {
        void Add(Op op, Action<LoweringContext> f, int min = OnnxExportOptions.MinOpset) => add(op, f, min);

        // Gather accepts negative indices (counting from the end), as take does.
        Add(OpSet.Take, c => c.Result(0, "Gather", [c.In(0), c.In(1)], OnnxAttr.Int("axis", c.Attrs<TakeAttrs>().Axis)));
        Add(OpSet.GatherElements, c =>
        {
            int axis = c.Attrs<IndexAxisAttrs>().Axis;
            // torch.gather allows an index smaller than x off the axis; ONNX wants them equal: slice x to the index's extent.
            var x = SliceToExtent(c, c.In(0), c.InSpec(0).Shape, c.InSpec(1).Shape, axis);
            c.Result(0, "GatherElements", [x, c.In(1)], OnnxAttr.Int("axis", axis));
        });
        // ScatterElements gained reduction="add" in opset 16.
        Add(OpSet.ScatterAdd, c =>
        {
            int axis = c.Attrs<IndexAxisAttrs>().Axis;
            // Source elements outside the index's extent are never read; ONNX wants updates shaped like the indices.
            var src = SliceToExtent(c, c.In(2), c.InSpec(2).Shape, c.InSpec(1).Shape, -1);
            var dt = c.InSpec(0).DType;
            var cd = Compute(dt);
            var y = c.Op("ScatterElements", [c.Cast(c.In(0), dt, cd), c.In(1), c.Cast(src, dt, cd)], OnnxAttr.Int("axis", axis), OnnxAttr.String("reduction", "add"));
            Finish(c, 0, y, cd);
        }, 16);
        // one_hot as Equal(indices[..., None], arange(depth)): out-of-range indices give an all-zero row (torch raises).
        Add(OpSet.OneHot, c =>
        {
            var a = c.Attrs<OneHotAttrs>();
            var idx = c.Cast(c.In(0), c.InSpec(0).DType, DType.Int64);
            var classes = c.Const(DType.Int64, [a.Depth], System.Runtime.InteropServices.MemoryMarshal.AsBytes(Enumerable.Range(0, (int)a.Depth).Select(i => (long)i).ToArray().AsSpan()).ToArray());
            var hit = c.Op("Equal", c.Op("Unsqueeze", idx, c.Ints(-1)), classes);
            Finish(c, 0, hit, DType.Bool);
        });
    }

    /// <summary>Slices <paramref name="x"/> to <paramref name="extent"/> on every axis except <paramref name="skipAxis"/> (no node when it already fits).</summary>
    private static string SliceToExtent(LoweringContext c, string x, Shape shape, Shape extent, int skipAxis)
    {
        var axes = Enumerable.Range(0, shape.Rank).Where(i => i != skipAxis && extent[i] < shape[i]).ToArray();
        if (axes.Length == 0) return x;
        return c.Op("Slice", x, c.Ints(new long[axes.Length]), c.Ints(axes.Select(i => extent[i]).ToArray()), c.Ints(axes));
    }
}
