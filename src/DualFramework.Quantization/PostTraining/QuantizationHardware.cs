using DualFramework.MixedPrecision;

namespace DualFramework.Quantization;

/// <summary>The format chosen for a CPU, and why.</summary>
/// <param name="Format">S8S8 or U8S8 (never Auto).</param>
/// <param name="ReduceRange">7-bit weights.</param>
/// <param name="Reason">One line naming the CPU feature that decided.</param>
public sealed record FormatChoice(QuantizationFormat Format, bool ReduceRange, string Reason);

/// <summary>
/// Picks the integer format by the CPU's int8 dot-product instructions. With VNNI (<c>avx512_vnni</c>, <c>avx_vnni</c>)
/// the 8-bit products are summed straight into 32 bits: S8S8 with full 8-bit weights. AVX2 without VNNI multiplies
/// u8×s8 pairs and sums them into saturating 16-bit lanes (VPMADDUBSW), which large weights can overflow: S8S8 with 7-bit
/// weights (ONNX Runtime's advice for such CPUs). Other CPUs (ARM, older x86): S8S8.
/// </summary>
public static class QuantizationHardware
{
    /// <summary>The choice for this machine; a <c>ONEDNN_MAX_CPU_ISA</c> limit below VNNI counts as "no VNNI", so a run
    /// pinned to AVX2 for the other engines gets the model an AVX2 machine would (ONNX Runtime's own kernels ignore that
    /// variable and still dispatch on the real CPU).</summary>
    public static FormatChoice Choose() => Choose(CpuFeatures.Current);

    /// <summary>The choice for <paramref name="cpu"/>.</summary>
    public static FormatChoice Choose(CpuFeatures cpu)
    {
        ArgumentNullException.ThrowIfNull(cpu);
        string? limit = cpu.OneDnnMaxIsa?.Trim().ToUpperInvariant();
        bool limitedBelowVnni = limit is "SSE41" or "AVX" or "AVX2";
        string? vnni = cpu.Flags.Contains("avx512_vnni") ? "avx512_vnni" : cpu.Flags.Contains("avx_vnni") ? "avx_vnni" : null;
        if (vnni != null && !limitedBelowVnni)
            return new FormatChoice(QuantizationFormat.S8S8, false, $"S8S8, 8-bit weights: the CPU has {vnni} (int8 dot products into int32)");
        if (cpu.Flags.Contains("avx2"))
            return new FormatChoice(QuantizationFormat.S8S8, true,
                vnni != null
                    ? $"S8S8, 7-bit weights (reduce range): ONEDNN_MAX_CPU_ISA={cpu.OneDnnMaxIsa} hides {vnni}, so the model is made for AVX2 (u8×s8 products summed in saturating 16-bit lanes)"
                    : "S8S8, 7-bit weights (reduce range): AVX2 without VNNI sums u8×s8 products in saturating 16-bit lanes");
        return new FormatChoice(QuantizationFormat.S8S8, false, "S8S8, 8-bit weights: no AVX2 (not an x86 int8 path with 16-bit saturation)");
    }

    /// <summary>The explicit format and range of <paramref name="format"/>/<paramref name="reduceRange"/>, resolving Auto.</summary>
    internal static FormatChoice Resolve(QuantizationFormat format, bool? reduceRange)
    {
        if (format == QuantizationFormat.Auto)
        {
            var auto = Choose();
            return reduceRange is { } r && r != auto.ReduceRange
                ? auto with { ReduceRange = r, Reason = auto.Reason + $"; reduce range {(r ? "on" : "off")} as requested" }
                : auto;
        }
        if (format is not (QuantizationFormat.S8S8 or QuantizationFormat.U8S8))
            throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown quantization format.");
        bool rr = reduceRange ?? false;
        return new FormatChoice(format, rr, $"{format}, {(rr ? "7" : "8")}-bit weights: as requested");
    }
}
