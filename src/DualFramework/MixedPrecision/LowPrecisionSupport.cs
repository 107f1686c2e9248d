using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using DualFramework.Backends;

namespace DualFramework.MixedPrecision;

/// <summary>
/// What low-precision compute costs here, and the one-time warning when the hardware cannot do it natively: the CPU
/// feature that is missing and the measured slowdown of a low-precision matmul against float32 on the backend in use.
/// Results are always the policy's (correct everywhere); only speed depends on the hardware.
/// </summary>
public static class LowPrecisionSupport
{
    private static readonly ConcurrentDictionary<(DType, string), Report> Reports = new();

    /// <summary>Where warnings go (default: standard error, one plain line each).</summary>
    public static TextWriter WarningOutput { get; set; } = Console.Error;

    /// <summary>A probe's findings.</summary>
    /// <param name="DType">The compute dtype probed.</param>
    /// <param name="Backend">The backend probed.</param>
    /// <param name="Cpu">The CPU class (<see cref="CpuFeatures.Kind"/>).</param>
    /// <param name="Native">Whether the CPU has the dtype's feature (<see cref="CpuFeatures.Supports"/>).</param>
    /// <param name="MatMulSlowdown">Time of a 128×256×256 matmul in <paramref name="DType"/> over its float32 time.</param>
    /// <param name="ThroughFloat32">Whether the backend runs the dtype's matmul/linear/conv through float32 kernels between
    /// casts (<see cref="ILowPrecisionKernels"/>).</param>
    public sealed record Report(DType DType, string Backend, string Cpu, bool Native, double MatMulSlowdown, bool ThroughFloat32)
    {
        /// <summary>The slowdown as a class: <c>faster</c>, <c>on par</c>, <c>slower</c> (1.25–5×) or <c>much slower</c>.</summary>
        public string SlowdownClass => MatMulSlowdown switch
        {
            < 0.9 => "faster",
            <= 1.25 => "on par",
            <= 5 => "slower",
            _ => "much slower",
        };
    }

    /// <summary>Measures (once per dtype and backend) what <paramref name="dtype"/> compute costs on <paramref name="backend"/>.</summary>
    public static Report Probe(DType dtype, IComputeBackend? backend = null)
    {
        var b = backend ?? BackendRegistry.Default;
        return Reports.GetOrAdd((dtype, b.Name), _ => Measure(dtype, b));
    }

    /// <summary>
    /// Prints, once per dtype and backend, a warning when the CPU lacks native <paramref name="dtype"/> arithmetic (naming the
    /// feature) or the backend runs the dtype's matmul/conv through float32 kernels, with the measured slowdown class.
    /// Returns the report (also when no warning was due).
    /// </summary>
    public static Report WarnOnce(DType dtype, IComputeBackend? backend = null)
    {
        var b = backend ?? BackendRegistry.Default;
        bool first = !Reports.ContainsKey((dtype, b.Name));
        var report = Probe(dtype, b);
        if (first && (!report.Native || report.ThroughFloat32))
        {
            var limit = CpuFeatures.Current.OneDnnMaxIsa is { Length: > 0 } isa ? $" (ONEDNN_MAX_CPU_ISA={isa})" : "";
            var cpu = report.Native ? "" : $" on a CPU without {CpuFeatures.FeatureFor(dtype)}{limit}";
            var how = report.ThroughFloat32
                ? $" The '{b.Name}' backend runs {dtype.Name()} matmul/linear/conv through float32 kernels between casts (same values up to summation order)."
                : "";
            WarningOutput.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"DualFramework warning: {dtype.Name()} compute{cpu}: a {dtype.Name()} matmul on the '{b.Name}' backend measured " +
                $"{report.MatMulSlowdown:0.0}x the float32 time ({report.SlowdownClass}).{how} Results follow the policy; only speed differs."));
        }
        return report;
    }

    /// <summary>Forgets the probes (tests: the next <see cref="WarnOnce"/> warns again).</summary>
    internal static void Forget() => Reports.Clear();

    private static Report Measure(DType dtype, IComputeBackend backend)
    {
        using var scope = TensorScope.Begin();
        using var noGrad = Autodiff.Autograd.NoGrad();
        using var noAutocast = Autocast.Suspend();
        var a32 = Tensor.FromArray(Values(128 * 256), new Shape(128, 256), backend);
        var b32 = Tensor.FromArray(Values(256 * 256), new Shape(256, 256), backend);
        Tensor aLow = Ops.Cast(a32, dtype), bLow = Ops.Cast(b32, dtype);
        // Interleaved pairs after warm-ups of both (the first products in a process pay for thread-pool start-up and kernel
        // selection); the median of the per-pair ratios is robust to a noisy neighbour.
        for (int i = 0; i < 3; i++)
        {
            Time(a32, b32);
            Time(aLow, bLow);
        }
        var ratios = new double[7];
        for (int i = 0; i < ratios.Length; i++)
        {
            double t32 = Time(a32, b32), tLow = Time(aLow, bLow);
            ratios[i] = tLow / Math.Max(t32, 1e-9);
        }
        Array.Sort(ratios);
        var cpu = CpuFeatures.Current;
        bool viaFloat32 = backend is ILowPrecisionKernels k && k.EmulatesLowPrecision(dtype);
        return new Report(dtype, backend.Name, cpu.Kind, cpu.Supports(dtype), ratios[ratios.Length / 2], viaFloat32);
    }

    private static float[] Values(int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (i * 37 % 101 - 50) / 50f;
        return v;
    }

    private static double Time(Tensor a, Tensor b)
    {
        using var s = TensorScope.Begin();
        var sw = Stopwatch.StartNew();
        Ops.MatMul(a, b); // CPU kernels run synchronously
        return sw.Elapsed.TotalMilliseconds;
    }
}
