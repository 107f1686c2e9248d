using DualFramework.MixedPrecision;
using DualFramework.Operators;
using TorchSharp;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

public sealed partial class TorchBackend
{
    /// <summary>The environment variable choosing how float16/bfloat16 matmul, linear and convolutions run:
    /// <c>auto</c> (default: libtorch's own kernels where the CPU has the dtype's arithmetic, else float32 kernels between
    /// casts), <c>native</c> (always libtorch's) or <c>float32</c> (always through float32).</summary>
    public const string LowPrecisionKernelsVariable = "DUALFRAMEWORK_LOW_PRECISION_KERNELS";

    // Bit per DType: the low-precision dtypes whose lower-precision ops run through float32 kernels here.
    private readonly int _emulated = EmulatedDTypes();

    /// <summary>
    /// True when this backend runs the lower-precision ops (matmul, linear, conv, conv_transpose) of <paramref name="dtype"/>
    /// through float32 kernels: the operands are widened exactly, the kernel accumulates in float32 as libtorch's own
    /// low-precision kernels do, and the result is rounded to <paramref name="dtype"/> — the same values up to summation
    /// order, without libtorch's scalar fallbacks on CPUs that lack the dtype's instructions (a float16 matmul measured
    /// about 100× slower than float32 on an AVX-512 CPU without <c>avx512_fp16</c>).
    /// </summary>
    public bool EmulatesLowPrecision(DType dtype) => (_emulated & (1 << (int)dtype)) != 0;

    private static int EmulatedDTypes()
    {
        var mode = Environment.GetEnvironmentVariable(LowPrecisionKernelsVariable)?.Trim().ToLowerInvariant();
        int mask = 0;
        foreach (var dt in new[] { DType.BFloat16, DType.Float16 })
        {
            bool emulate = mode switch
            {
                "native" => false,
                "float32" => true,
                null or "" or "auto" => !CpuFeatures.Current.Supports(dt),
                _ => throw new InvalidOperationException($"{LowPrecisionKernelsVariable}='{mode}': expected auto, native or float32."),
            };
            if (emulate) mask |= 1 << (int)dt;
        }
        return mask;
    }

    private object ExecuteThroughFloat32(Op op, OpAttrs attrs, ReadOnlySpan<Tensor> inputs, TensorSpec[] outputs)
    {
        var low = inputs[0].DType;
        var wide = new Tensor[inputs.Length];
        var wideOut = new TensorSpec[outputs.Length];
        try
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                var t = inputs[i];
                // The casts are libtorch ops: with gradients on, autograd carries the gradient back through them.
                wide[i] = t is not null && t.DType == low ? Wrap(Raw(t).to(torch.ScalarType.Float32)) : t!;
            }
            for (int i = 0; i < outputs.Length; i++)
                wideOut[i] = outputs[i].DType == low ? new TensorSpec(outputs[i].Shape, DType.Float32) : outputs[i];
            var result = _kernels.Get(op)(wide, attrs, wideOut);
            return result is object[] many ? many.Select((h, i) => Narrow(h, outputs[i])).ToArray() : Narrow(result, outputs[0]);
        }
        finally
        {
            for (int i = 0; i < inputs.Length; i++)
                if (!ReferenceEquals(wide[i], inputs[i])) wide[i]?.Dispose();
        }
    }

    private static object Narrow(object handle, TensorSpec spec)
    {
        var t = (TT)handle;
        if (TorchTypes.FromScalarType(t.dtype) == spec.DType) return t;
        using (t) return t.to(TorchTypes.ToScalarType(spec.DType));
    }
}
