namespace DualFramework.Distributed;

/// <summary>A collective operation failed: a peer failed, timed out, or called a different collective.</summary>
public sealed class CommunicatorException : Exception
{
    /// <summary>Creates the exception; the message names the communicator, the rank and the collective.</summary>
    public CommunicatorException(string message, Exception? inner = null) : base(message, inner) { }
}
