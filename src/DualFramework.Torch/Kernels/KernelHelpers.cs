using TorchSharp;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>Helpers shared by the kernel files: operand access, dtype mapping and owned TorchSharp scalars.</summary>
internal static class KernelHelpers
{
    // An explicit static constructor: ScalarOne is made exactly when a kernel first runs, after the natives were loaded.
    static KernelHelpers() => Native.TorchNativeLoader.EnsureLoaded();

    /// <summary>The TorchSharp tensor of operand <paramref name="i"/>.</summary>
    public static TT Operand(ReadOnlySpan<Tensor> inputs, int i) => (TT)inputs[i].Handle;

    /// <summary>libtorch scalar type for <paramref name="t"/>.</summary>
    public static torch.ScalarType ScalarTypeOf(DType t) => TorchTypes.ToScalarType(t);

    /// <summary>The alpha of 1 for <c>add(x, ScalarOne)</c>: TorchSharp's <c>add(x)</c> would make a temporary scalar 1 that nothing
    /// keeps alive during the native call. A static scalar is never finalized, so it can be passed anywhere.</summary>
    public static readonly Scalar ScalarOne = 1L.ToScalar();

    /// <summary>A TorchSharp scalar of <paramref name="v"/> suited to dtype <paramref name="t"/>. The caller owns it and must
    /// dispose it after the native call that reads it (<c>using var s = ScalarFor(..)</c>), never pass it inline: a
    /// <see cref="Scalar"/> is finalizable, and one that is unreachable while libtorch reads it can be freed mid-call
    /// (docs/concepts.md, "Native handles"). The same holds for TorchSharp overloads taking a plain number, which
    /// convert it to such a temporary: kernels never call them.</summary>
    public static Scalar ScalarFor(double v, DType t) => t switch
    {
        DType.Bool => (v != 0).ToScalar(),
        DType.Int64 or DType.Int32 or DType.Int8 or DType.UInt8 => ((long)v).ToScalar(),
        _ => v.ToScalar(),
    };

    /// <summary>A float64 TorchSharp scalar; owned by the caller as <see cref="ScalarFor(double, DType)"/>.</summary>
    public static Scalar Float64Scalar(double v) => v.ToScalar();

    /// <summary>An int64 TorchSharp scalar; owned by the caller as <see cref="ScalarFor(double, DType)"/>.</summary>
    public static Scalar Int64Scalar(long v) => v.ToScalar();
}
