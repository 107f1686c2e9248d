namespace DualFramework.Checkpoints;

/// <summary>
/// Fault injection for tests of crash safety (docs/reliability.md): with <c>DUALFRAMEWORK_TEST_STALL_CHECKPOINT_WRITE=N</c>
/// the N-th <see cref="SafeTensors.Save"/> of the process (1-based) stops halfway through its data, flushes the partial
/// temporary file to disk, writes <c>checkpoint write stalled: PATH</c> to standard error and blocks forever, so a test can
/// kill the process while a checkpoint is being written. Unset (the normal case), nothing changes.
/// </summary>
internal static class CheckpointFaults
{
    /// <summary>The environment variable.</summary>
    public const string StallVariable = "DUALFRAMEWORK_TEST_STALL_CHECKPOINT_WRITE";

    private static readonly long StallAt = long.TryParse(Environment.GetEnvironmentVariable(StallVariable), out var n) && n > 0 ? n : 0;
    private static long _writes;

    /// <summary>Counts a write; true when this one must stall.</summary>
    public static bool NextWriteStalls() => StallAt > 0 && Interlocked.Increment(ref _writes) == StallAt;

    /// <summary>Makes the partial file durable, announces it and never returns.</summary>
    public static void Stall(FileStream partial, string path)
    {
        partial.Flush(flushToDisk: true);
        Console.Error.WriteLine($"checkpoint write stalled: {path}");
        Console.Error.Flush();
        Thread.Sleep(Timeout.Infinite);
    }
}
