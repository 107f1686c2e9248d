namespace DualFramework.IR;

/// <summary>
/// Thrown when a traced function reads the value of a symbolic tensor (<c>Item()</c>, <c>ToArray()</c>, a C# <c>if</c>
/// on a tensor): while tracing, tensors stand for values computed later, so data-dependent host code cannot run.
/// </summary>
public sealed class SymbolicValueException : InvalidOperationException
{
    /// <summary>Creates the exception for the symbolic value <paramref name="valueName"/>.</summary>
    public SymbolicValueException(string valueName, TensorSpec spec)
        : base($"Cannot read the value of symbolic tensor {valueName} ({spec}) inside a traced function: its value is only " +
               $"known when the compiled graph runs{(LayerPath.Current is { } p ? $" (at layer '{p}')" : "")}. Express data-dependent " +
               "choices with tensor ops (e.g. Ops.Where(cond, a, b) instead of a C# if on a tensor, Ops.Maximum/Clamp instead of " +
               "comparisons on Item()), keep loops over static sizes (shapes are known while tracing), and return tensors to read " +
               "them after the call.")
    {
        ValueName = valueName;
        Spec = spec;
    }

    /// <summary>Name of the symbolic value that was read.</summary>
    public string ValueName { get; }

    /// <summary>Its shape and dtype.</summary>
    public TensorSpec Spec { get; }
}
