namespace DualFramework.Torch.Native;

/// <summary>
/// Thrown when TorchSharp's native glue library (<c>LibTorchSharp</c>) cannot be loaded, even
/// after DualFramework's compatibility measures. The message lists every path tried and the
/// dynamic loader's error for each.
/// </summary>
public sealed class TorchNativeLoadException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was tried and why it failed.</param>
    public TorchNativeLoadException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with an underlying cause.</summary>
    /// <param name="message">What was tried and why it failed.</param>
    /// <param name="innerException">The underlying failure.</param>
    public TorchNativeLoadException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
