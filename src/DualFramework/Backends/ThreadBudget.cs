using System.Globalization;

namespace DualFramework.Backends;

/// <summary>
/// How many compute threads a backend should use in this process. By default every core; when an MPI launcher started
/// several ranks on this machine, the cores are split between them, since ranks whose thread pools each claim every core
/// (and spin while waiting) slow each other down many times over (one data-parallel epoch on ONNX Runtime took 78 s
/// instead of 3.4 s with 2 ranks on 2 cores). <c>DUALFRAMEWORK_NUM_THREADS</c> overrides both.
/// </summary>
public static class ThreadBudget
{
    /// <summary>Ranks an MPI launcher started on this machine (Open MPI's or MPICH's local-size variable), else 1.</summary>
    public static int LocalProcesses =>
        Positive("OMPI_COMM_WORLD_LOCAL_SIZE") ?? Positive("MPI_LOCALNRANKS") ?? 1;

    /// <summary>The explicit thread count from <c>DUALFRAMEWORK_NUM_THREADS</c>, or null.</summary>
    public static int? Override => Positive("DUALFRAMEWORK_NUM_THREADS");

    /// <summary>Threads for this process's compute pool: the override, else the cores divided among local ranks.</summary>
    public static int PerProcess => Override ?? Math.Max(1, Environment.ProcessorCount / LocalProcesses);

    /// <summary>True when backends should change their default thread settings (an override or several local ranks).</summary>
    public static bool IsConstrained => Override != null || LocalProcesses > 1;

    private static int? Positive(string variable) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null;
}
