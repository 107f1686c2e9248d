using DualFramework.Backends;
using DualFramework.Torch.Native;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Torch;

/// <summary>The eager backend keeps glibc from unmapping and re-faulting activation memory every step.</summary>
[TestFixture]
public class AllocatorTuningTests
{
    [Test]
    public void Creating_the_torch_backend_raises_mallocs_mmap_and_trim_thresholds_on_glibc()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("glibc's mallopt exists on Linux only");
        _ = BackendRegistry.Get("torch");
        bool userSettings = Environment.GetEnvironmentVariable(AllocatorTuning.DisableVariable) == "0"
            || Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") != null
            || Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") != null;
        AllocatorTuning.Applied.Should().Be(!userSettings, "mallopt accepts both settings on glibc unless the user chose their own");
    }
}
