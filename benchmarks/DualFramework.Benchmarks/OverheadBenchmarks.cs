using BenchmarkDotNet.Attributes;

namespace DualFramework.Benchmarks;

/// <summary>BenchmarkDotNet view of the "overhead" suite: one Adam training step, batch 64 (raw TorchSharp is the baseline).</summary>
[MemoryDiagnoser]
public class OverheadBenchmarks
{
    private OverheadWorkloads _w = null!;

    [GlobalSetup]
    public void Setup() => _w = new OverheadWorkloads();

    [GlobalCleanup]
    public void Cleanup() => _w.Dispose();

    [Benchmark(Baseline = true)]
    public float RawTorchSharpMlpStep() => _w.RawMlp();

    [Benchmark]
    public float DualFrameworkMlpStep() => _w.OursMlp();

    [Benchmark]
    public float RawTorchSharpCnnStep() => _w.RawCnn();

    [Benchmark]
    public float DualFrameworkCnnStep() => _w.OursCnn();
}
