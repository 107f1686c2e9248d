using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>TopK (opsets 1–11) on the op set's topk: k as the attribute (1–9) or a constant input (10+),
        /// <c>largest</c>/<c>sorted</c> from opset 11.</summary>
        private void AddTopK()
        {
            Map("TopK", _ =>
            {
                var x = In(0);
                int axis = Axis(Int("axis", -1), x.Spec.Shape.Rank);
                long k = opset < 10 ? Int("k", -1) : ConstInts(1) is [var v] ? v : throw Bad("k must hold one value");
                if (k < 0 || k > x.Spec.Shape[axis]) throw Bad($"k = {k} must lie in [0, {x.Spec.Shape[axis]}] for input {x.Spec.Shape}, axis {axis}");
                bool largest = opset < 11 || Int("largest", 1) != 0, sorted = opset < 11 || Int("sorted", 1) != 0;
                var outs = Nodes(OpSet.TopK, new TopKAttrs(k, axis, largest, sorted), x);
                _more.Add(outs[1]);
                return outs[0];
            });
        }
    }
}
