namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    /// <summary>Thrown inside the builder when a node needs the value of a float initializer that was made a state variable
    /// (a graph input); the import then makes that initializer a constant and builds again.</summary>
    internal sealed class InitializerNeededException(string initializer) : Exception($"the graph needs initializer '{initializer}' as a constant")
    {
        public string Initializer { get; } = initializer;
    }
}
