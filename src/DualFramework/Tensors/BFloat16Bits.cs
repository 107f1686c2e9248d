namespace DualFramework;

/// <summary>Conversions between float32 and bfloat16 bit patterns (bfloat16 is the upper half of a float32).</summary>
public static class BFloat16Bits
{
    /// <summary>bfloat16 bits of <paramref name="f"/>, rounded to nearest even (NaN stays NaN).</summary>
    public static ushort FromSingle(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((bits >> 16) | 0x40);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    /// <summary>The float32 value of bfloat16 <paramref name="bits"/> (exact).</summary>
    public static float ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>Converts bfloat16 bits to float32 values element by element.</summary>
    public static void ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException("Destination is too short.", nameof(destination));
        for (int i = 0; i < source.Length; i++) destination[i] = ToSingle(source[i]);
    }

    /// <summary>Converts float32 values to bfloat16 bits (round to nearest even) element by element.</summary>
    public static void FromSingle(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException("Destination is too short.", nameof(destination));
        for (int i = 0; i < source.Length; i++) destination[i] = FromSingle(source[i]);
    }
}
