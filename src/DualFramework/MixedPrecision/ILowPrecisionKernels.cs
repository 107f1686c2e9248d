namespace DualFramework.MixedPrecision;

/// <summary>
/// Implemented by backends that may run low-precision ops through float32 kernels between casts (where the hardware or the
/// runtime lacks fast bfloat16/float16 kernels), so that warnings and reports can say so.
/// </summary>
public interface ILowPrecisionKernels
{
    /// <summary>True when the lower-precision ops (matmul, linear, conv, conv_transpose) of <paramref name="dtype"/> run
    /// through float32 kernels: operands widened exactly, float32 accumulation, the result rounded to
    /// <paramref name="dtype"/>.</summary>
    bool EmulatesLowPrecision(DType dtype);
}
