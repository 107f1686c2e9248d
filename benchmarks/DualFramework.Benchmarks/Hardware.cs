using System.Diagnostics;
using System.Globalization;
using DualFramework.Backends;
using TorchSharp;

namespace DualFramework.Benchmarks;

/// <summary>What the machine can do, printed with every ratio suite so figures from different CPUs are not compared
/// blindly: the instruction-set class libtorch may use and the fp32 GEMM rate measured in the same run.</summary>
public static class Hardware
{
    /// <summary>"avx512" (with "+bf16"/"+vnni" when present), "avx2" or "baseline"; "(limited to avx2)" when
    /// <c>ATEN_CPU_CAPABILITY</c>/<c>ONEDNN_MAX_CPU_ISA</c> hold libtorch to AVX2.</summary>
    public static string IsaClass()
    {
        var flags = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?.Split(' ').ToHashSet() ?? []
            : [];
        string isa = flags.Contains("avx512f") ? "avx512" + (flags.Contains("avx512_bf16") ? "+bf16" : "") + (flags.Contains("avx512_vnni") ? "+vnni" : "")
            : flags.Contains("avx2") ? "avx2" : "baseline";
        bool limited = string.Equals(Environment.GetEnvironmentVariable("ATEN_CPU_CAPABILITY"), "avx2", StringComparison.OrdinalIgnoreCase)
            || string.Equals(Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA"), "AVX2", StringComparison.OrdinalIgnoreCase);
        return limited && isa.StartsWith("avx512", StringComparison.Ordinal) ? isa + " (limited to avx2)" : isa;
    }

    /// <summary>fp32 GEMM rate of libtorch (1024² × 1024², all threads), GFLOP/s: the median of 9 timed products.</summary>
    public static double GemmGflops()
    {
        BackendRegistry.Get("torch"); // loads the natives
        const int n = 1024;
        using var a = torch.rand(n, n);
        using var b = torch.rand(n, n);
        for (int i = 0; i < 3; i++) torch.mm(a, b).Dispose();
        var times = new List<double>();
        for (int i = 0; i < 9; i++)
        {
            var sw = Stopwatch.StartNew();
            torch.mm(a, b).Dispose();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        return 2.0 * n * n * n / times[times.Count / 2] / 1e9;
    }

    /// <summary>Measures the GEMM rate and prints the "cpu: …" line every ratio suite starts with; returns the rate.</summary>
    public static double PrintLine()
    {
        double gemm = GemmGflops();
        PrintLine(gemm, "");
        return gemm;
    }

    /// <summary>Prints the "cpu: …" line for a GEMM rate measured elsewhere, with <paramref name="note"/> after it.</summary>
    public static void PrintLine(double gemmGflops, string note) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cpu: {IsaClass()}, fp32 GEMM 1024²: {gemmGflops:F1} GFLOP/s{note}"));

    /// <summary>The two figures as JSON fields (no braces).</summary>
    public static string JsonFields(double gemmGflops) =>
        string.Create(CultureInfo.InvariantCulture, $"\"isa\":\"{IsaClass()}\",\"gemm_gflops\":{gemmGflops:F1}");
}

/// <summary>FLOPs of one training step of the suites' models (batch 64): forward multiply-adds ×2 FLOPs, and the
/// backward twice the forward (input and weight gradients), the usual 3× rule; elementwise work is left out.</summary>
public static class StepFlops
{
    public static double Mlp(int batch) => 3 * 2.0 * batch * (784 * 256 + 256 * 10);

    public static double Cnn(int batch) => 3 * 2.0 * batch * (32 * 28 * 28 * 9 + 64 * 14 * 14 * 32 * 9 + 64 * 7 * 7 * 128 + 128 * 10);

    /// <summary>The fraction of the GEMM-rate floor a step reaches: (FLOPs / GEMM rate) / step time.</summary>
    public static double FloorFraction(double flops, double gemmGflops, double stepSeconds) => flops / (gemmGflops * 1e9) / stepSeconds;
}
