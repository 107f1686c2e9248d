namespace DualFramework.Onnx;

/// <summary>Thrown when an ONNX model cannot be imported: malformed or oversized data, unsafe external data, unsupported
/// opsets, or unsupported ops (all of them are listed in <see cref="UnsupportedOps"/>).</summary>
public sealed class OnnxImportException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OnnxImportException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>Creates the exception for a model using ops without an importer.</summary>
    public OnnxImportException(IReadOnlyList<string> unsupportedOps)
        : base($"Cannot import the ONNX model: {unsupportedOps.Count} unsupported op type(s): {string.Join(", ", unsupportedOps)}.")
        => UnsupportedOps = unsupportedOps;

    /// <summary>Distinct, sorted op types without an importer (domain-qualified for non-default domains); empty otherwise.</summary>
    public IReadOnlyList<string> UnsupportedOps { get; } = [];
}
