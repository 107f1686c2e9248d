using TorchSharp;

namespace DualFramework.Torch.Native;

/// <summary>
/// Checks once per process that libtorch's oneDNN kernels compute a float32 stride-1 transposed convolution (the kernel
/// that also computes every stride-1 convolution's input gradient) correctly on this CPU, against libtorch's float64
/// kernels, which do not use oneDNN. On a 2-core AMD EPYC of family 26 (Zen 5) VM, libtorch 2.10's oneDNN 3.7.1 returned
/// wrong values there (errors of order 1 on values of order 1) with its AVX-512 and AVX2 JIT kernels alike, so CNN
/// gradients were wrong. Where the check fails, oneDNN is switched off for libtorch (<c>torch.backends.mkldnn.enabled =
/// False</c>: libtorch's own im2col + GEMM kernels) and one warning says so. <c>DUALFRAMEWORK_ONEDNN</c> = <c>auto</c>
/// (default), <c>on</c> (keep oneDNN, skip the check) or <c>off</c> (always switch it off).
/// </summary>
internal static class OneDnnConvolutionCheck
{
    /// <summary>Environment variable overriding the check.</summary>
    internal const string Variable = "DUALFRAMEWORK_ONEDNN";

    private static readonly Lock Gate = new();
    private static bool s_done;

    /// <summary>The largest |float32 − float64| the probe saw with oneDNN on (NaN when not run).</summary>
    internal static double ProbeError { get; private set; } = double.NaN;

    /// <summary>True when this process switched oneDNN off for libtorch.</summary>
    internal static bool SwitchedOff { get; private set; }

    /// <summary>Runs the check once per process (see the class remarks).</summary>
    internal static void Apply()
    {
        lock (Gate)
        {
            if (s_done) return;
            s_done = true;
            if (!LibTorchContext.CanSwitchMkldnn) return;
            var mode = Environment.GetEnvironmentVariable(Variable)?.Trim().ToLowerInvariant();
            if (mode == "on") return;
            if (mode == "off")
            {
                SwitchOff();
                return;
            }
            ProbeError = Probe();
            // Products of numbers in [−1, 1], 4·3·3 of them per output: float32 rounding stays far below 1e-4.
            if (ProbeError <= 1e-4) return;
            SwitchOff();
            double after = Probe();
            Console.Error.WriteLine(
                $"DualFramework warning: libtorch's oneDNN kernels computed a float32 stride-1 transposed convolution wrongly on this CPU " +
                $"(largest error {ProbeError:G3} against float64); oneDNN is switched off for libtorch (error now {after:G3}). " +
                $"Convolutions run on libtorch's own kernels, which may be slower. {Variable}=on keeps oneDNN.");
        }
    }

    // NNPACK goes too: it is libtorch's next choice for convolutions without oneDNN, and where the CPU is not one NNPACK
    // supports (this Zen 5 VM), every convolution then printed "Could not initialize NNPACK" (7,524 lines in one main job).
    private static void SwitchOff()
    {
        LibTorchContext.MkldnnEnabled = false;
        LibTorchContext.SetNnpackEnabled(false);
        SwitchedOff = true;
    }

    /// <summary>The largest difference between float32 and float64 stride-1 conv_transpose2d results of the same values, over
    /// batches of 1–3, paddings 0–1 and dilations 1–2, each run three times.</summary>
    /// <remarks>One call was not enough: under load on the 2-core Zen 5 VM a single probe came out right in about one
    /// process in four while later calls in the same process were wrong, so the check repeats several shapes.</remarks>
    private static double Probe()
    {
        double worst = 0;
        for (int round = 0; round < 3; round++)
        {
            foreach (var (batch, padding, dilation) in new[] { (2, 1, 1), (1, 1, 1), (3, 0, 1), (2, 1, 2) })
                worst = Math.Max(worst, ProbeOnce(batch, padding, dilation, seed: 7 + round));
        }
        return worst;
    }

    private static double ProbeOnce(int batch, int padding, int dilation, int seed)
    {
        using var scope = torch.NewDisposeScope();
        int n = batch * 4 * 5 * 4;
        var values = new double[n + 4 * 3 * 3 * 3];
        var rng = new Random(seed);
        for (int i = 0; i < values.Length; i++) values[i] = Math.Round(rng.NextDouble() * 2 - 1, 3);
        var x64 = torch.tensor(values[..n], [batch, 4, 5, 4], torch.ScalarType.Float64);
        var w64 = torch.tensor(values[n..], [4, 3, 3, 3], torch.ScalarType.Float64);
        var want = torch.nn.functional.conv_transpose2d(x64, w64, padding: [padding, padding], dilation: [dilation, dilation]);
        var got = torch.nn.functional.conv_transpose2d(x64.to_type(torch.ScalarType.Float32), w64.to_type(torch.ScalarType.Float32),
            padding: [padding, padding], dilation: [dilation, dilation]);
        return (got.to_type(torch.ScalarType.Float64) - want).abs().max().item<double>();
    }
}
