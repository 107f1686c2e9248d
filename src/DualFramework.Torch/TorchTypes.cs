using TorchSharp;

namespace DualFramework.Torch;

/// <summary>DType ↔ libtorch scalar type.</summary>
internal static class TorchTypes
{
    public static torch.ScalarType ToScalarType(DType t) => t switch
    {
        DType.Float32 => torch.ScalarType.Float32,
        DType.Float64 => torch.ScalarType.Float64,
        DType.Float16 => torch.ScalarType.Float16,
        DType.BFloat16 => torch.ScalarType.BFloat16,
        DType.Int64 => torch.ScalarType.Int64,
        DType.Int32 => torch.ScalarType.Int32,
        DType.Int8 => torch.ScalarType.Int8,
        DType.UInt8 => torch.ScalarType.Byte,
        DType.Bool => torch.ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, null),
    };

    public static DType FromScalarType(torch.ScalarType t) => t switch
    {
        torch.ScalarType.Float32 => DType.Float32,
        torch.ScalarType.Float64 => DType.Float64,
        torch.ScalarType.Float16 => DType.Float16,
        torch.ScalarType.BFloat16 => DType.BFloat16,
        torch.ScalarType.Int64 => DType.Int64,
        torch.ScalarType.Int32 => DType.Int32,
        torch.ScalarType.Int8 => DType.Int8,
        torch.ScalarType.Byte => DType.UInt8,
        torch.ScalarType.Bool => DType.Bool,
        _ => throw new NotSupportedException($"libtorch dtype {t} has no DualFramework dtype."),
    };
}
