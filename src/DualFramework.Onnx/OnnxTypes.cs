using DualFramework.Onnx.Proto;

namespace DualFramework.Onnx;

/// <summary>Conversions between DualFramework dtypes/values and ONNX element types and tensor bytes.</summary>
public static class OnnxTypes
{
    /// <summary>The ONNX <c>TensorProto.DataType</c> of <paramref name="dtype"/>.</summary>
    public static TensorProto.Types.DataType ToOnnx(DType dtype) => dtype switch
    {
        DType.Float32 => TensorProto.Types.DataType.Float,
        DType.Float64 => TensorProto.Types.DataType.Double,
        DType.Float16 => TensorProto.Types.DataType.Float16,
        DType.BFloat16 => TensorProto.Types.DataType.Bfloat16,
        DType.Int64 => TensorProto.Types.DataType.Int64,
        DType.Int32 => TensorProto.Types.DataType.Int32,
        DType.Int8 => TensorProto.Types.DataType.Int8,
        DType.UInt8 => TensorProto.Types.DataType.Uint8,
        DType.Bool => TensorProto.Types.DataType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "No ONNX element type."),
    };

    /// <summary>The DualFramework dtype of an ONNX element type; throws for types DualFramework lacks.</summary>
    public static DType FromOnnx(TensorProto.Types.DataType type) => type switch
    {
        TensorProto.Types.DataType.Float => DType.Float32,
        TensorProto.Types.DataType.Double => DType.Float64,
        TensorProto.Types.DataType.Float16 => DType.Float16,
        TensorProto.Types.DataType.Bfloat16 => DType.BFloat16,
        TensorProto.Types.DataType.Int64 => DType.Int64,
        TensorProto.Types.DataType.Int32 => DType.Int32,
        TensorProto.Types.DataType.Int8 => DType.Int8,
        TensorProto.Types.DataType.Uint8 => DType.UInt8,
        TensorProto.Types.DataType.Bool => DType.Bool,
        _ => throw new NotSupportedException($"ONNX element type {type} has no DualFramework dtype."),
    };

    /// <summary>
    /// The little-endian bytes of <paramref name="value"/> converted to <paramref name="dtype"/> as DualFramework converts
    /// scalars: integers truncate toward zero (then wrap to the width), bool is <c>value != 0</c>, floats round to nearest.
    /// </summary>
    public static byte[] ScalarBytes(double value, DType dtype)
    {
        switch (dtype)
        {
            case DType.Float32: return BitConverter.GetBytes((float)value);
            case DType.Float64: return BitConverter.GetBytes(value);
            case DType.Float16: return BitConverter.GetBytes(BitConverter.HalfToUInt16Bits((Half)value));
            case DType.BFloat16: return BitConverter.GetBytes(BFloat16Bits.FromSingle((float)value));
            case DType.Bool: return [value != 0 ? (byte)1 : (byte)0];
        }
        long l = double.IsNaN(value) ? 0 : (long)value;
        return dtype switch
        {
            DType.Int64 => BitConverter.GetBytes(l),
            DType.Int32 => BitConverter.GetBytes(unchecked((int)l)),
            DType.Int8 => [unchecked((byte)(sbyte)l)],
            DType.UInt8 => [unchecked((byte)l)],
            _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
        };
    }
}
