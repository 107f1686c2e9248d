using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace DualFramework.Distributed;

/// <summary>The element arithmetic shared by the communicators: staging half-precision buffers in float32, combining
/// two buffers, and the final division of a mean.</summary>
internal static class ReduceMath
{
    /// <summary>Throws unless <paramref name="dtype"/> can be all-reduced and <paramref name="bytes"/> holds whole elements.</summary>
    public static void Check(string where, DType dtype, int bytes)
    {
        if (!dtype.IsFloating())
            throw new ArgumentException($"{where}: all-reduce needs a floating dtype (float32, float64, float16, bfloat16), got {dtype.Name()}.");
        if (bytes % dtype.ElementSize() != 0)
            throw new ArgumentException($"{where}: {bytes} bytes are not a whole number of {dtype.Name()} elements.");
    }

    /// <summary>True for the types reduced in a float32 staging buffer.</summary>
    public static bool IsHalf(DType dtype) => dtype is DType.Float16 or DType.BFloat16;

    /// <summary>Widens float16/bfloat16 (or copies float32) elements into <paramref name="destination"/>.</summary>
    public static void ToSingle(ReadOnlySpan<byte> source, DType dtype, Span<float> destination)
    {
        switch (dtype)
        {
            case DType.Float32: MemoryMarshal.Cast<byte, float>(source).CopyTo(destination); break;
            case DType.Float16: TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination); break;
            case DType.BFloat16: BFloat16Bits.ToSingle(MemoryMarshal.Cast<byte, ushort>(source), destination); break;
            default: throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not staged in float32");
        }
    }

    /// <summary>Rounds float32 values back to <paramref name="dtype"/> (round to nearest even).</summary>
    public static void FromSingle(ReadOnlySpan<float> source, DType dtype, Span<byte> destination)
    {
        switch (dtype)
        {
            case DType.Float32: MemoryMarshal.AsBytes(source).CopyTo(destination); break;
            case DType.Float16: TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<byte, Half>(destination)); break;
            case DType.BFloat16: BFloat16Bits.FromSingle(source, MemoryMarshal.Cast<byte, ushort>(destination)); break;
            default: throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not staged in float32");
        }
    }

    /// <summary><paramref name="accumulator"/> ⊕= <paramref name="x"/> (sum for Sum/Mean, maximum for Max).</summary>
    public static void Combine(Span<float> accumulator, ReadOnlySpan<float> x, ReduceOp op)
    {
        if (op == ReduceOp.Max) TensorPrimitives.Max(accumulator, x, accumulator);
        else TensorPrimitives.Add(accumulator, x, accumulator);
    }

    /// <summary><paramref name="accumulator"/> ⊕= <paramref name="x"/> in float64.</summary>
    public static void Combine(Span<double> accumulator, ReadOnlySpan<double> x, ReduceOp op)
    {
        if (op == ReduceOp.Max) TensorPrimitives.Max(accumulator, x, accumulator);
        else TensorPrimitives.Add(accumulator, x, accumulator);
    }

    /// <summary>Divides by the number of ranks when <paramref name="op"/> is a mean (a division, not a multiplication by
    /// the reciprocal, so that a mean of equal values is exact).</summary>
    public static void Finish(Span<float> values, ReduceOp op, int size)
    {
        if (op == ReduceOp.Mean && size > 1) TensorPrimitives.Divide(values, (float)size, values);
    }

    /// <summary>Float64 form of <see cref="Finish(Span{float}, ReduceOp, int)"/>.</summary>
    public static void Finish(Span<double> values, ReduceOp op, int size)
    {
        if (op == ReduceOp.Mean && size > 1) TensorPrimitives.Divide(values, size, values);
    }
}
