namespace DualFramework.Serving;

/// <summary>A model input or output: name, element type and shape (-1 for a dimension of any size).</summary>
/// <param name="Name">The ONNX graph's name for it.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions; -1 where the model accepts any size (a symbolic or unknown dimension).</param>
public sealed record TensorSignature(string Name, TensorDType DType, IReadOnlyList<long> Shape)
{
    /// <summary>The shape as <c>[-1,1,28,28]</c>.</summary>
    public string ShapeText => FormatShape(Shape);

    /// <summary>Whether <paramref name="shape"/> fits this signature (same rank, equal fixed dimensions).</summary>
    public bool Accepts(IReadOnlyList<long> shape)
    {
        if (shape.Count != Shape.Count) return false;
        for (int i = 0; i < shape.Count; i++)
            if (Shape[i] >= 0 && Shape[i] != shape[i]) return false;
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {DType.Name()} {ShapeText}";

    /// <summary>Formats a shape as <c>[1,784]</c>.</summary>
    public static string FormatShape(IReadOnlyList<long> shape) => "[" + string.Join(",", shape) + "]";
}
