namespace DualFramework.Torch.Native;

/// <summary>
/// Thrown by <see cref="ElfVersionNeedPatcher"/> when an image is not a well-formed ELF64
/// little-endian shared object (truncated, wrong magic, wrong class, offsets out of range, ...).
/// </summary>
internal sealed class ElfFormatException : Exception
{
    /// <summary>Creates the exception with a message describing what is malformed.</summary>
    /// <param name="message">What was wrong with the image.</param>
    public ElfFormatException(string message) : base(message)
    {
    }
}
