namespace DualFramework.Training;

/// <summary>Decides whether console output may redraw lines (carriage returns, escape codes) or must be plain lines.</summary>
public static class OutputStyle
{
    /// <summary>
    /// True when <paramref name="writer"/> should receive plain lines only: it is not the console's own output or error
    /// writer (a file, a string), that stream is redirected, <c>TERM=dumb</c>, or the process runs under an MPI launcher
    /// (<c>OMPI_COMM_WORLD_SIZE</c> or <c>PMI_SIZE</c> set), which collects every rank's output into a log.
    /// </summary>
    public static bool IsPlain(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (UnderMpi || string.Equals(Environment.GetEnvironmentVariable("TERM"), "dumb", StringComparison.Ordinal)) return true;
        if (ReferenceEquals(writer, Console.Out)) return Console.IsOutputRedirected;
        if (ReferenceEquals(writer, Console.Error)) return Console.IsErrorRedirected;
        return true;
    }

    /// <summary>True when an MPI launcher (Open MPI or an MPICH-style PMI) started this process.</summary>
    public static bool UnderMpi =>
        Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") != null || Environment.GetEnvironmentVariable("PMI_SIZE") != null;
}
