using Microsoft.ML.OnnxRuntime.Tensors;

namespace DualFramework.OnnxRuntime;

/// <summary>DType ↔ ONNX Runtime element type.</summary>
internal static class OrtTypes
{
    public static TensorElementType ToOrt(DType t) => t switch
    {
        DType.Float32 => TensorElementType.Float,
        DType.Float64 => TensorElementType.Double,
        DType.Float16 => TensorElementType.Float16,
        DType.BFloat16 => TensorElementType.BFloat16,
        DType.Int64 => TensorElementType.Int64,
        DType.Int32 => TensorElementType.Int32,
        DType.Int8 => TensorElementType.Int8,
        DType.UInt8 => TensorElementType.UInt8,
        DType.Bool => TensorElementType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, null),
    };
}
