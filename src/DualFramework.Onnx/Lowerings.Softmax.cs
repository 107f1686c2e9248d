using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the softmax family (<c>OpSet.Softmax.cs</c>).</summary>
    private static void AddSoftmax(LoweringTable t)
    {
        // Opset 13+ Softmax/LogSoftmax normalise along one axis (the pre-13 "flatten from axis" semantics are not used).
        void Soft(Op op, string onnx) => t.Add(op, c => Unary(c, (x, _) => c.Op(onnx, [x], OnnxAttr.Int("axis", c.Attrs<SoftmaxAttrs>().Axis))));
        Soft(OpSet.Softmax, "Softmax");
        Soft(OpSet.LogSoftmax, "LogSoftmax");
    }
}
