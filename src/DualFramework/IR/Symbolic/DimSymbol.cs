namespace DualFramework.IR;

/// <summary>A symbolic dimension of a graph: its name and where its size is read at run time (axis
/// <paramref name="Axis"/> of graph input <paramref name="Input"/>; every other input axis with the same name must agree).</summary>
/// <param name="Name">Symbol name (<c>batch</c>, <c>sequence</c>, or <c>input.axis</c> for an unnamed open dim).</param>
/// <param name="Input">Index of the graph input the size is read from.</param>
/// <param name="Axis">Axis of that input.</param>
public sealed record DimSymbol(string Name, int Input, int Axis)
{
    /// <inheritdoc />
    public override string ToString() => $"{Name} = in{Input}.shape[{Axis}]";
}

/// <summary>Inputs that do not fit a graph's signature, or sizes at which some op of a graph with symbolic dims fails.</summary>
public sealed class SymbolicShapeException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SymbolicShapeException(string message, Exception? inner = null) : base(message, inner) { }
}
