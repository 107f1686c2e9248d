namespace DualFramework.NN;

/// <summary>A state dict that does not fit a module; <see cref="Problems"/> lists every mismatch.</summary>
public sealed class StateDictException(string message, IReadOnlyList<string> problems, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Each mismatch (missing, unexpected, wrong shape or dtype).</summary>
    public IReadOnlyList<string> Problems { get; } = problems;
}
