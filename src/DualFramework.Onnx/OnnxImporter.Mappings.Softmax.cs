using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>Softmax and LogSoftmax (opset 13 axis semantics; before 13, over the flattened trailing axes).</summary>
        private void AddSoftmax()
        {
            Map(["Softmax", "LogSoftmax"], op =>
            {
                var x = In(0);
                int rank = x.Spec.Shape.Rank;
                var sm = op == "Softmax" ? OpSet.Softmax : OpSet.LogSoftmax;
                if (opset >= 13) return Node(sm, new SoftmaxAttrs(Axis(Int("axis", -1), rank)), x);
                // Before opset 13, Softmax flattens to 2-D at `axis` and normalises each row.
                int axis = Axis(Int("axis", 1), rank);
                if (axis == rank - 1) return Node(sm, new SoftmaxAttrs(axis), x);
                var d = x.Spec.Shape.ToArray();
                var flat = Reshape(x, [Prod(d[..axis]), Prod(d[axis..])]);
                return Reshape(Node(sm, new SoftmaxAttrs(1), flat), d);
            });
        }
    }
}
