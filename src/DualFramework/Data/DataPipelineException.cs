namespace DualFramework.Data;

/// <summary>An error raised while producing one item of a <see cref="Dataset{T}"/> pass.</summary>
public sealed class DataPipelineException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="itemIndex">Position of the failing item in the stage's input stream (0-based).</param>
    /// <param name="epoch">The epoch being enumerated.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public DataPipelineException(string message, long itemIndex, long epoch, Exception? inner = null)
        : base(message, inner)
    {
        ItemIndex = itemIndex;
        Epoch = epoch;
    }

    /// <summary>Position of the failing item in the stage's input stream (0-based).</summary>
    public long ItemIndex { get; }

    /// <summary>The epoch being enumerated.</summary>
    public long Epoch { get; }
}
