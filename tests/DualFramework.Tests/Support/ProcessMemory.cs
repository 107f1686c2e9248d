namespace DualFramework.Tests;

/// <summary>The process's resident memory, for the long-loop memory tests (Linux: /proc/self/status).</summary>
internal static class ProcessMemory
{
    /// <summary>VmRSS in bytes.</summary>
    public static long ResidentBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        throw new InvalidOperationException("VmRSS not found");
    }
}
