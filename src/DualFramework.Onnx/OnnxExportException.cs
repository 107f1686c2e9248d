namespace DualFramework.Onnx;

/// <summary>A graph node the exporter cannot lower.</summary>
/// <param name="OpName">The op's name.</param>
/// <param name="LayerPath">The layer that applied it, when known.</param>
/// <param name="Reason">Why it is not supported (no lowering, or not at the requested opset).</param>
public sealed record UnsupportedNode(string OpName, string? LayerPath, string Reason)
{
    /// <inheritdoc />
    public override string ToString() => $"{OpName}{(LayerPath != null ? $" (at {LayerPath})" : "")}: {Reason}";
}

/// <summary>Thrown when a graph cannot be exported to ONNX; lists EVERY node that cannot be lowered, not just the first.</summary>
public sealed class OnnxExportException : Exception
{
    /// <summary>Creates the exception for <paramref name="unsupported"/> nodes.</summary>
    public OnnxExportException(IReadOnlyList<UnsupportedNode> unsupported, int opset)
        : base(Format(unsupported, opset)) => Unsupported = unsupported;

    /// <summary>Every node that could not be lowered, in graph order.</summary>
    public IReadOnlyList<UnsupportedNode> Unsupported { get; }

    /// <summary>The distinct op names among <see cref="Unsupported"/>.</summary>
    public IReadOnlyList<string> UnsupportedOpNames => Unsupported.Select(u => u.OpName).Distinct().ToArray();

    private static string Format(IReadOnlyList<UnsupportedNode> unsupported, int opset)
    {
        var names = string.Join(", ", unsupported.Select(u => u.OpName).Distinct());
        return $"Cannot export the graph to ONNX opset {opset}: {unsupported.Count} node(s) use unsupported op(s) [{names}]:"
               + string.Concat(unsupported.Select(u => Environment.NewLine + "  - " + u));
    }
}
