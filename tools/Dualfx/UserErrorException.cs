namespace DualFramework.Tools.Dualfx;

/// <summary>A mistake of the user's (bad argument, missing or unreadable file): printed as one line, no stack trace.</summary>
internal sealed class UserErrorException(string message, int exitCode = ExitCodes.Failure) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>The tool's exit codes.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;   // a file could not be read or written, a step failed
    public const int Usage = 2;     // bad arguments
    public const int Internal = 70; // a bug: unexpected exception
}
