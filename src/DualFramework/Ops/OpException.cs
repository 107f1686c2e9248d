namespace DualFramework;

/// <summary>
/// The one exception type for invalid op applications: shape or dtype mismatches and wrong arguments
/// (axis out of range, negative sizes, incompatible convolution parameters…). Raised by the op's rule in Core before any
/// backend is called, so every backend reports the same error.
/// </summary>
public sealed class OpException : ArgumentException
{
    /// <summary>Creates the exception; the message names the op, the operands and the layer path.</summary>
    public OpException(string op, IReadOnlyList<TensorSpec> inputs, string reason, string? layerPath = null)
        : base(Format(op, inputs, reason, layerPath))
    {
        Op = op;
        Inputs = inputs;
        Reason = reason;
        LayerPath = layerPath;
    }

    /// <summary>Name of the op that rejected its inputs.</summary>
    public string Op { get; }

    /// <summary>Shapes and dtypes of the operands.</summary>
    public IReadOnlyList<TensorSpec> Inputs { get; }

    /// <summary>What was wrong.</summary>
    public string Reason { get; }

    /// <summary>Hierarchical name of the layer that applied the op (e.g. <c>encoder.block0.fc1</c>), when inside one.</summary>
    public string? LayerPath { get; }

    private static string Format(string op, IReadOnlyList<TensorSpec> inputs, string reason, string? layerPath)
    {
        var where = string.IsNullOrEmpty(layerPath) ? "" : $" in layer '{layerPath}'";
        var operands = inputs.Count == 0 ? "no tensor operands" : string.Join(", ", inputs.Select(s => s.ToString()));
        return $"{op}{where}: {reason} (operands: {operands})";
    }
}

/// <summary>
/// The hierarchical name of the layer being run on this thread. Layers push their name while they run, so errors raised
/// by ops deep inside a model say where they happened.
/// </summary>
public static class LayerPath
{
    [ThreadStatic] private static string? _current;

    /// <summary>The current path, or null outside any layer.</summary>
    public static string? Current => _current;

    /// <summary>Enters a child layer named <paramref name="name"/>; dispose the result to leave it.</summary>
    public static Scope Enter(string name)
    {
        var previous = _current;
        _current = string.IsNullOrEmpty(previous) ? name : previous + "." + name;
        return new Scope(previous);
    }

    /// <summary>Restores the previous layer path when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly string? _previous;
        internal Scope(string? previous) => _previous = previous;

        /// <summary>Leaves the layer.</summary>
        public void Dispose() => _current = _previous;
    }
}
