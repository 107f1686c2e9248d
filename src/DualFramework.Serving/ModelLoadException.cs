namespace DualFramework.Serving;

/// <summary>A model version that cannot be served: unreadable or invalid files, or a failed warm-up run.</summary>
public sealed class ModelLoadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ModelLoadException(string message, Exception? inner = null) : base(message, inner) { }
}
