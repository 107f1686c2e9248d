using Microsoft.ML.OnnxRuntime.Tensors;

namespace DualFramework.Serving;

/// <summary>The tensor element types the server accepts and returns.</summary>
public enum TensorDType
{
    /// <summary>32-bit float (<c>float32</c>).</summary>
    Float32,
    /// <summary>64-bit float (<c>float64</c>).</summary>
    Float64,
    /// <summary>32-bit signed integer (<c>int32</c>).</summary>
    Int32,
    /// <summary>64-bit signed integer (<c>int64</c>).</summary>
    Int64,
}

/// <summary>Names, sizes and ONNX Runtime mappings of <see cref="TensorDType"/>.</summary>
public static class TensorDTypes
{
    /// <summary>The wire name: <c>float32</c>, <c>float64</c>, <c>int32</c> or <c>int64</c>.</summary>
    public static string Name(this TensorDType dtype) => dtype switch
    {
        TensorDType.Float32 => "float32",
        TensorDType.Float64 => "float64",
        TensorDType.Int32 => "int32",
        TensorDType.Int64 => "int64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>Bytes per element.</summary>
    public static int Size(this TensorDType dtype) => dtype is TensorDType.Float32 or TensorDType.Int32 ? 4 : 8;

    /// <summary>Parses a wire name (also <c>float</c>, <c>double</c>, <c>int</c>, <c>long</c>); null when unknown.</summary>
    public static TensorDType? Parse(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "float32" or "float" or "f32" => TensorDType.Float32,
        "float64" or "double" or "f64" => TensorDType.Float64,
        "int32" or "int" or "i32" => TensorDType.Int32,
        "int64" or "long" or "i64" => TensorDType.Int64,
        _ => null,
    };

    internal static TensorDType? FromOrt(TensorElementType type) => type switch
    {
        TensorElementType.Float => TensorDType.Float32,
        TensorElementType.Double => TensorDType.Float64,
        TensorElementType.Int32 => TensorDType.Int32,
        TensorElementType.Int64 => TensorDType.Int64,
        _ => null,
    };

    internal static Array Allocate(this TensorDType dtype, int count) => dtype switch
    {
        TensorDType.Float32 => new float[count],
        TensorDType.Float64 => new double[count],
        TensorDType.Int32 => new int[count],
        TensorDType.Int64 => new long[count],
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };
}
