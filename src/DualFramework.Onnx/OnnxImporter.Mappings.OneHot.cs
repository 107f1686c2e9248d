using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>OneHot (opsets 9–11) on the op set's one_hot: indices cast to int64 and wrapped (−depth ≤ i &lt; 0
        /// counts from the end), [off, on] chosen with a where, the new axis moved to <c>axis</c>.</summary>
        private void AddOneHot()
        {
            Map("OneHot", _ =>
            {
                var idx = In(0);
                if (idx.Spec.DType == DType.Bool) throw Bad("bool indices are not supported");
                double depthValue = ConstScalar(1) ?? throw Bad("missing input 1 (depth)");
                long depth = (long)depthValue;
                if (depth < 1) throw Bad($"depth {depthValue} must be at least 1");
                var values = In(2);
                if (values.Spec.Shape.NumElements != 2) throw Bad($"values must hold [off, on], got shape {values.Spec.Shape}");
                int rank = idx.Spec.Shape.Rank;
                int axis = Axis(Int("axis", -1), rank + 1);
                // ONNX casts indices to int64 (floats truncate); out-of-range ones give an all-off row. libtorch's one_hot
                // raises there, so they are sent to an extra class that is sliced off.
                var i = WrapIndex(CastTo(idx, DType.Int64), depth);
                var valid = Node(OpSet.LogicalAnd, OpAttrs.None, Bin(OpSet.GreaterEqual, i, Sc(0, i)), Bin(OpSet.Less, i, Sc(depth, i)));
                i = Select(valid, i, Sc(depth, i));
                var hot = Node(OpSet.OneHot, new OneHotAttrs(depth + 1, DType.Bool), i);
                hot = Node(OpSet.Slice, new SliceAttrs([rank], [0], [depth], [1]), hot);
                var flat = Reshape(values, [2]);
                var off = Node(OpSet.Take, new TakeAttrs(0), flat, ConstLongs([0]));
                var on = Node(OpSet.Take, new TakeAttrs(0), flat, ConstLongs([1]));
                return MoveAxis(Select(hot, on, off), rank, axis);
            });
        }
    }
}
