namespace DualFramework.MixedPrecision;

/// <summary>
/// The CPU's low-precision arithmetic as the kernels will see it: the instruction-set flags the OS reports
/// (<c>/proc/cpuinfo</c>), narrowed by the limits users set for oneDNN (<c>ONEDNN_MAX_CPU_ISA</c>), which libtorch's
/// bf16/fp16 matmul and convolution kernels obey.
/// </summary>
public sealed record CpuFeatures(IReadOnlySet<string> Flags, string? OneDnnMaxIsa)
{
    private static CpuFeatures? _current;

    /// <summary>The features of this machine (read once).</summary>
    public static CpuFeatures Current => _current ??= Read();

    /// <summary>True when the CPU has native bfloat16 dot products (<c>avx512_bf16</c> or <c>amx_bf16</c>) and oneDNN may use
    /// them.</summary>
    public bool HasBFloat16 => IsaAllows("AVX512_CORE_BF16") && (Flags.Contains("avx512_bf16") || Flags.Contains("amx_bf16"));

    /// <summary>True when the CPU has native float16 arithmetic (<c>avx512_fp16</c> or <c>amx_fp16</c>) and oneDNN may use
    /// it.</summary>
    public bool HasFloat16 => IsaAllows("AVX512_CORE_FP16") && (Flags.Contains("avx512_fp16") || Flags.Contains("amx_fp16"));

    /// <summary>The CPU class for reports: <c>avx512_bf16</c>, <c>avx512</c>, <c>avx2</c> or <c>other</c>, after the oneDNN
    /// limit.</summary>
    public string Kind => HasBFloat16 ? "avx512_bf16"
        : IsaAllows("AVX512_CORE") && Flags.Contains("avx512f") ? "avx512"
        : Flags.Contains("avx2") ? "avx2" : "other";

    /// <summary>The feature that native <paramref name="dtype"/> arithmetic needs.</summary>
    public static string FeatureFor(DType dtype) => dtype == DType.Float16 ? "avx512_fp16" : "avx512_bf16";

    /// <summary>True when <paramref name="dtype"/> (bfloat16 or float16) has native arithmetic here.</summary>
    public bool Supports(DType dtype) => dtype switch
    {
        DType.BFloat16 => HasBFloat16,
        DType.Float16 => HasFloat16,
        _ => true,
    };

    // oneDNN's ISA names in increasing order; a limit allows its own level and those below it.
    private static readonly string[] IsaOrder =
        ["SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI", "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16", "AVX10_1_512", "AVX10_1_512_AMX", "AVX10_1_512_AMX_FP16"];

    private bool IsaAllows(string level)
    {
        if (string.IsNullOrWhiteSpace(OneDnnMaxIsa) || OneDnnMaxIsa.Equals("ALL", StringComparison.OrdinalIgnoreCase)) return true;
        int limit = Array.FindIndex(IsaOrder, n => n.Equals(OneDnnMaxIsa.Trim(), StringComparison.OrdinalIgnoreCase));
        int need = Array.IndexOf(IsaOrder, level);
        return limit < 0 || limit >= need; // an unknown limit name restricts nothing we can tell
    }

    private static CpuFeatures Read()
    {
        var flags = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                {
                    if (!line.StartsWith("flags", StringComparison.Ordinal)) continue;
                    int colon = line.IndexOf(':');
                    if (colon > 0) flags.UnionWith(line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
                    break;
                }
        }
        catch (IOException)
        {
            // No flags: every feature reads as absent, which only makes the warning more cautious.
        }
        return new CpuFeatures(flags, Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA"));
    }
}
