namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    /// <summary>Thrown inside the builder when a node needs the value of a model input that is not known yet (the
    /// import-time probe); the node's outputs are then deferred until the model runs with concrete values.</summary>
    internal sealed class ShapeInputNeededException(string input) : Exception($"the graph depends on the value of input '{input}'")
    {
        public string Input { get; } = input;
    }
}
