using System.Runtime.InteropServices;

namespace DualFramework.Torch.Native;

/// <summary>
/// Keeps glibc's malloc from handing activation-sized blocks back to the kernel after every step. libtorch allocates
/// CPU tensors with malloc; with glibc's defaults a block above the (dynamic) mmap threshold is unmapped when freed and
/// the heap top is trimmed past 2× that threshold, so each training step faults its activations in again: on the
/// Fashion-MNIST CNN (batch 64) 4–7 thousand page faults per step, a fifth to a third of the step's time (docs/benchmarks.md).
/// Raising the mmap threshold to its maximum (32 MiB) and the trim threshold to 256 MiB keeps that memory in the process
/// for the next step, as PyTorch's advice to preload jemalloc or tcmalloc does. Applied once, when the eager backend is
/// created, only with glibc, and never over the user's own <c>MALLOC_MMAP_THRESHOLD_</c>/<c>MALLOC_TRIM_THRESHOLD_</c>;
/// <c>DUALFRAMEWORK_MALLOC_TUNING=0</c> turns it off.
/// </summary>
internal static unsafe class AllocatorTuning
{
    /// <summary>Environment variable; <c>0</c> leaves malloc's settings alone.</summary>
    internal const string DisableVariable = "DUALFRAMEWORK_MALLOC_TUNING";

    internal const int MmapThreshold = 32 * 1024 * 1024; // glibc's largest allowed value on 64-bit
    internal const int TrimThreshold = 256 * 1024 * 1024;

    private const int MTrimThreshold = -1, MMmapThreshold = -3; // mallopt parameter numbers (malloc.h)

    private static readonly Lock Gate = new();
    private static bool s_done;

    /// <summary>True when this process's malloc settings were changed here.</summary>
    internal static bool Applied { get; private set; }

    /// <summary>Applies the settings once per process (see the class remarks); later calls do nothing.</summary>
    internal static void Apply()
    {
        lock (Gate)
        {
            if (s_done) return;
            s_done = true;
            if (!OperatingSystem.IsLinux()
                || Environment.GetEnvironmentVariable(DisableVariable) == "0"
                || Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") != null
                || Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") != null)
                return;
            // Only glibc has this soname and mallopt's parameter numbers; elsewhere (musl) nothing is changed.
            if (!NativeLibrary.TryLoad("libc.so.6", out var libc) || !NativeLibrary.TryGetExport(libc, "mallopt", out var entry)) return;
            var mallopt = (delegate* unmanaged<int, int, int>)entry;
            // The mmap threshold first: setting either one also turns off glibc's dynamic adjustment of both.
            Applied = mallopt(MMmapThreshold, MmapThreshold) == 1 && mallopt(MTrimThreshold, TrimThreshold) == 1;
        }
    }
}
