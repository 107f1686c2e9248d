using BenchmarkDotNet.Attributes;

namespace DualFramework.Benchmarks;

/// <summary>BenchmarkDotNet view of the "ops" suite (raw TorchSharp is the baseline).</summary>
[MemoryDiagnoser]
public class OpsBenchmarks
{
    private OpsWorkloads _w = null!;

    [GlobalSetup]
    public void Setup() => _w = new OpsWorkloads();

    [GlobalCleanup]
    public void Cleanup() => _w.Dispose();

    [Benchmark(Baseline = true)]
    public float RawTorchSharpChain100() => _w.RawChain();

    [Benchmark]
    public float DualFrameworkChain100() => _w.OursChain();

    [Benchmark]
    public float RawTorchSharpMatmulBackward() => _w.RawMatmulBackward();

    [Benchmark]
    public float DualFrameworkMatmulBackward() => _w.OursMatmulBackward();
}
