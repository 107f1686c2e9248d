namespace DualFramework.Checkpoints;

/// <summary>
/// A checkpoint file could not be read or written: it is malformed, truncated, corrupted (checksum mismatch), of an
/// unsupported version, or an I/O operation failed. The message names the file and the problem.
/// </summary>
public sealed class CheckpointException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The file (or the name given to a stream or byte buffer) the problem is about.</param>
    /// <param name="message">The complete message (should already name <paramref name="filePath"/>).</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public CheckpointException(string filePath, string message, Exception? inner = null) : base(message, inner) => FilePath = filePath;

    /// <summary>The file (or the name given to a stream or byte buffer) the problem is about.</summary>
    public string FilePath { get; }
}
