using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>ScatterElements / Scatter (its pre-11 name) / ScatterND on the op set's scatter_add. reduction="add"
        /// is a scatter-add into the data; "none" writes updates where some index points and keeps the data elsewhere
        /// (ONNX leaves duplicate indices undefined there; ours add them up). Other reductions are not supported.</summary>
        private void AddScatter()
        {
            Map(["ScatterElements", "Scatter"], _ =>
            {
                var (data, upd) = ScatterOperands();
                int axis = Axis(Int("axis", 0), data.Spec.Shape.Rank);
                var idx = In(1);
                if (!idx.Spec.DType.IsInteger()) throw Bad($"{idx.Spec.DType.Name()} indices are not supported");
                if (idx.Spec.Shape != upd.Spec.Shape) throw Bad($"indices {idx.Spec.Shape} and updates {upd.Spec.Shape} differ in shape");
                return ScatterAlong(data, WrapIndex(CastTo(idx, DType.Int64), data.Spec.Shape[axis]), upd, axis);
            });
            Map("ScatterND", _ =>
            {
                var (data, upd) = ScatterOperands();
                var idx = In(1);
                if (!idx.Spec.DType.IsInteger()) throw Bad($"{idx.Spec.DType.Name()} indices are not supported");
                var d = data.Spec.Shape.ToArray();
                var q = idx.Spec.Shape.ToArray();
                if (q.Length == 0) throw Bad("indices must have rank ≥ 1");
                int k = (int)q[^1];
                if (k < 1 || k > d.Length) throw Bad($"index tuples of length {k} for a rank-{d.Length} input");
                long[] lead = q[..^1], rest = d[k..];
                if (!upd.Spec.Shape.ToArray().SequenceEqual(lead.Concat(rest))) throw Bad($"updates {upd.Spec.Shape} must have shape [{string.Join(", ", lead.Concat(rest))}]");
                // Rows of the leading k axes are addressed by one linear index, so this is a scatter along axis 0 of
                // data viewed as [prod(d[..k]), prod(d[k..])].
                long rows = Prod(d[..k]), cols = Prod(rest), count = Prod(lead);
                var strides = new long[k];
                long stride = 1;
                for (int j = k - 1; j >= 0; j--) { strides[j] = stride; stride *= d[j]; }
                var tuples = CastTo(idx, DType.Int64);
                var dims = ConstLongs(d[..k], k);
                tuples = Select(Bin(OpSet.Less, tuples, Sc(0, tuples)), Bin(OpSet.Add, tuples, dims), tuples);
                var linear = Node(OpSet.Sum, new ReduceAttrs([q.Length - 1], false), Bin(OpSet.Mul, tuples, ConstLongs(strides, k)));
                var index = Node(OpSet.BroadcastTo, new ShapeAttrs([count, cols]), Reshape(linear, [count, 1]));
                string reduction = Str("reduction", "none");
                var y = reduction == "mul"
                    ? ScatterRowsInTurn(Reshape(data, [rows, cols]), Reshape(linear, [count, 1]), Reshape(upd, [count, cols]))
                    : ScatterAlong(Reshape(data, [rows, cols]), index, Reshape(upd, [count, cols]), 0);
                return Reshape(y, d);
            });
            Map("GatherND", _ => GatherND());
            Map("GatherElements", _ =>
            {
                var x = In(0);
                int axis = Axis(Int("axis", 0), x.Spec.Shape.Rank);
                var idx = In(1);
                if (!idx.Spec.DType.IsInteger()) throw Bad($"{idx.Spec.DType.Name()} indices are not supported");
                return Node(OpSet.GatherElements, new IndexAxisAttrs(axis), x, WrapIndex(CastTo(idx, DType.Int64), x.Spec.Shape[axis]));
            });
        }

        /// <summary>ScatterND's mul reduction (opset 16+): the update rows are multiplied into the data one at a time (a where
        /// over the row the index selects), so repeated indices multiply in turn as ONNX specifies. Each row costs a few
        /// nodes, so at most <see cref="MaxScatterRows"/> rows are supported.</summary>
        private Value ScatterRowsInTurn(Value data, Value rowIndex, Value upd)
        {
            long rows = data.Spec.Shape[0], count = upd.Spec.Shape[0];
            if (count > MaxScatterRows) throw Bad($"reduction 'mul' over {count} index tuples is not supported (at most {MaxScatterRows})");
            if (data.Spec.DType == DType.Bool) throw Bad("bool data is not supported");
            var rowIds = ConstLongs(Enumerable.Range(0, (int)rows).Select(v => (long)v).ToArray(), rows, 1);
            var y = data;
            for (long j = 0; j < count; j++)
            {
                var at = Node(OpSet.Slice, new SliceAttrs([0], [j], [j + 1], [1]), rowIndex); // [1, 1]
                var row = Node(OpSet.Slice, new SliceAttrs([0], [j], [j + 1], [1]), upd);    // [1, cols]
                y = Select(Bin(OpSet.Equal, rowIds, at), Bin(OpSet.Mul, y, row), y);
            }
            return y;
        }

        private const long MaxScatterRows = 1024;

        /// <summary>GatherND (opsets 11–13): data viewed as [batch · rows, rest] (rows = the axes the index tuples address),
        /// each tuple turned into one linear row index (negative entries wrapped, the batch offset added), then a take
        /// along axis 0.</summary>
        private Value GatherND()
        {
            var x = In(0);
            var idx = In(1);
            if (!idx.Spec.DType.IsInteger()) throw Bad($"{idx.Spec.DType.Name()} indices are not supported");
            var d = x.Spec.Shape.ToArray();
            var q = idx.Spec.Shape.ToArray();
            int b = (int)Int("batch_dims", 0);
            if (q.Length == 0) throw Bad("indices must have rank ≥ 1");
            if (b < 0 || b >= Math.Min(d.Length, q.Length)) throw Bad($"batch_dims {b} must be below the ranks of data ({d.Length}) and indices ({q.Length})");
            if (!d[..b].SequenceEqual(q[..b])) throw Bad($"data {x.Spec.Shape} and indices {idx.Spec.Shape} differ in their first {b} (batch) axes");
            int k = (int)q[^1];
            if (k < 1 || b + k > d.Length) throw Bad($"index tuples of length {k} for a rank-{d.Length} input with {b} batch axes");
            long[] addressed = d[b..(b + k)], rest = d[(b + k)..];
            long batch = Prod(d[..b]), rows = Prod(addressed), per = Prod(q[b..^1]);
            var strides = new long[k];
            long stride = 1;
            for (int j = k - 1; j >= 0; j--) { strides[j] = stride; stride *= addressed[j]; }
            var tuples = Reshape(CastTo(idx, DType.Int64), [batch, per, k]);
            var dims = ConstLongs(addressed, k);
            tuples = Select(Bin(OpSet.Less, tuples, Sc(0, tuples)), Bin(OpSet.Add, tuples, dims), tuples);
            var linear = Node(OpSet.Sum, new ReduceAttrs([2], false), Bin(OpSet.Mul, tuples, ConstLongs(strides, k))); // [batch, per]
            if (batch > 1)
                linear = Bin(OpSet.Add, linear, ConstLongs(Enumerable.Range(0, (int)batch).Select(i => i * rows).ToArray(), batch, 1));
            var view = Reshape(x, [batch * rows, .. rest]);
            var y = Node(OpSet.Take, new TakeAttrs(0), view, Reshape(linear, [batch * per]));
            return Reshape(y, [.. q[..^1], .. rest]);
        }

        private (Value Data, Value Updates) ScatterOperands()
        {
            Value data = In(0), upd = In(2);
            if (data.Spec.DType == DType.Bool) throw Bad("bool data is not supported");
            if (upd.Spec.DType != data.Spec.DType) throw Bad($"updates are {upd.Spec.DType.Name()}, data {data.Spec.DType.Name()}");
            return (data, upd);
        }

        private Value ScatterAlong(Value data, Value index, Value upd, int axis)
        {
            string reduction = Str("reduction", "none");
            var attrs = new IndexAxisAttrs(axis);
            switch (reduction)
            {
                case "add": return Node(OpSet.ScatterAdd, attrs, data, index, upd);
                case "none":
                    {
                        var shape = data.Spec.Shape.ToArray();
                        var zeros = Filled(shape, 0, data.Spec.DType);
                        var hits = Node(OpSet.ScatterAdd, attrs, zeros, index, Filled(upd.Spec.Shape.ToArray(), 1, data.Spec.DType));
                        var written = Node(OpSet.ScatterAdd, attrs, zeros, index, upd);
                        return Select(Bin(OpSet.Greater, hits, Sc(0, hits)), written, data);
                    }
                default: throw Bad($"reduction '{reduction}' is not supported");
            }
        }
    }
}
