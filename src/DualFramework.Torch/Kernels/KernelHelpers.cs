using TorchSharp;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>Small helpers shared by kernel files.</summary>
internal static class K
{
    /// <summary>The TorchSharp tensor of operand <paramref name="i"/>.</summary>
    public static TT In(ReadOnlySpan<Tensor> inputs, int i) => (TT)inputs[i].Handle;

    /// <summary>libtorch scalar type for <paramref name="t"/>.</summary>
    public static torch.ScalarType St(DType t) => TorchTypes.ToScalarType(t);

    /// <summary>A TorchSharp scalar of <paramref name="v"/> suited to dtype <paramref name="t"/>.</summary>
    public static Scalar Sc(double v, DType t) => t switch
    {
        DType.Bool => (v != 0).ToScalar(),
        DType.Int64 or DType.Int32 or DType.Int8 or DType.UInt8 => ((long)v).ToScalar(),
        _ => v.ToScalar(),
    };
}
