using DualFramework.Backends;
using DualFramework.MixedPrecision;
using DualFramework.Torch;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.MixedPrecision;

/// <summary>What the library tells users about low-precision hardware: CPU feature logic (including oneDNN's ISA limit),
/// the one-time warning, and the torch backend's float32 route on CPUs without the dtype's instructions.</summary>
[TestFixture]
[NonParallelizable]
public class HardwareSupportTests
{
    private static CpuFeatures Cpu(string? limit, params string[] flags) => new(flags.ToHashSet(), limit);

    [Test]
    public void Features_follow_the_flags_and_the_onednn_limit()
    {
        var zen4 = Cpu(null, "avx2", "avx512f", "avx512_bf16", "avx512_vnni");
        (zen4.HasBFloat16, zen4.HasFloat16, zen4.Kind).Should().Be((true, false, "avx512_bf16"));
        var limited = Cpu("AVX2", "avx2", "avx512f", "avx512_bf16");
        (limited.HasBFloat16, limited.Kind).Should().Be((false, "avx2"), "ONEDNN_MAX_CPU_ISA=AVX2 keeps oneDNN off AVX-512");
        Cpu("avx512_core_amx", "avx512f", "amx_bf16", "avx512_fp16").Supports(DType.Float16).Should().BeTrue();
        Cpu(null, "avx2").Supports(DType.BFloat16).Should().BeFalse();
        Cpu(null, "avx2").Supports(DType.Float32).Should().BeTrue();
    }

    [TestCase("torch", DType.BFloat16)]
    [TestCase("torch", DType.Float16)]
    [TestCase("graph", DType.BFloat16)]
    [TestCase("graph", DType.Float16)]
    public void Warning_is_printed_once_exactly_when_the_cpu_or_the_backend_lacks_native_kernels(string name, DType dtype)
    {
        var backend = BackendRegistry.Get(name);
        var saved = LowPrecisionSupport.WarningOutput;
        var sink = new StringWriter();
        LowPrecisionSupport.WarningOutput = sink;
        try
        {
            LowPrecisionSupport.Forget();
            var report = LowPrecisionSupport.WarnOnce(dtype, backend);
            LowPrecisionSupport.WarnOnce(dtype, backend);
            report.Native.Should().Be(CpuFeatures.Current.Supports(dtype));
            report.ThroughFloat32.Should().Be(((ILowPrecisionKernels)backend).EmulatesLowPrecision(dtype));
            if (name == "graph") report.ThroughFloat32.Should().BeTrue("ONNX Runtime's CPU provider has no half-precision matmul");
            report.MatMulSlowdown.Should().BePositive();
            var lines = sink.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (report.Native && !report.ThroughFloat32) lines.Should().BeEmpty();
            else
            {
                lines.Should().ContainSingle("the warning is printed once per dtype and backend");
                lines[0].Should().Contain(report.SlowdownClass).And.Contain($"'{name}'");
                if (!report.Native) lines[0].Should().Contain(CpuFeatures.FeatureFor(dtype));
                if (report.ThroughFloat32) lines[0].Should().Contain("through float32 kernels");
            }
        }
        finally
        {
            LowPrecisionSupport.WarningOutput = saved;
        }
    }

    [Test]
    public void Torch_backend_routes_through_float32_exactly_where_the_cpu_lacks_the_dtype()
    {
        var torch = (TorchBackend)BackendRegistry.Get("torch");
        var mode = Environment.GetEnvironmentVariable(TorchBackend.LowPrecisionKernelsVariable);
        foreach (var dt in new[] { DType.BFloat16, DType.Float16 })
        {
            bool expected = mode switch { "native" => false, "float32" => true, _ => !CpuFeatures.Current.Supports(dt) };
            torch.EmulatesLowPrecision(dt).Should().Be(expected, $"{dt} under {TorchBackend.LowPrecisionKernelsVariable}={mode ?? "(unset)"}");
        }
        torch.EmulatesLowPrecision(DType.Float32).Should().BeFalse();
    }
}
