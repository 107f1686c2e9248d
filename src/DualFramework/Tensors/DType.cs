namespace DualFramework;

/// <summary>Element type of a <see cref="Tensor"/>.</summary>
public enum DType : byte
{
    /// <summary>IEEE 754 binary32.</summary>
    Float32,
    /// <summary>IEEE 754 binary64.</summary>
    Float64,
    /// <summary>IEEE 754 binary16.</summary>
    Float16,
    /// <summary>bfloat16 (8-bit exponent, 7-bit mantissa).</summary>
    BFloat16,
    /// <summary>Signed 64-bit integer.</summary>
    Int64,
    /// <summary>Signed 32-bit integer.</summary>
    Int32,
    /// <summary>Signed 8-bit integer.</summary>
    Int8,
    /// <summary>Unsigned 8-bit integer.</summary>
    UInt8,
    /// <summary>Boolean.</summary>
    Bool,
}

/// <summary>Facts about <see cref="DType"/> values and the type-promotion rule.</summary>
/// <remarks>
/// Promotion follows NumPy/PyTorch categories: bool &lt; integer &lt; floating. Inside a category the wider type wins.
/// Exceptions, because DualFramework has no int16: <c>uint8 ⊕ int8 → int32</c>. As in PyTorch,
/// <c>float16 ⊕ bfloat16 → float32</c> and any integer ⊕ a floating type gives that floating type.
/// A C# scalar operand is "weak": it never widens a tensor of the same category (<c>float16 tensor * 2.0</c> stays float16);
/// a floating scalar with an integer or bool tensor gives <see cref="DTypes.DefaultFloat"/>.
/// </remarks>
public static class DTypes
{
    /// <summary>The floating type used where an integer input must become floating (true division, exp of an int…).</summary>
    public const DType DefaultFloat = DType.Float32;

    /// <summary>Size of one element in bytes.</summary>
    public static int ElementSize(this DType t) => t switch
    {
        DType.Float32 or DType.Int32 => 4,
        DType.Float64 or DType.Int64 => 8,
        DType.Float16 or DType.BFloat16 => 2,
        _ => 1,
    };

    /// <summary>True for float32, float64, float16 and bfloat16.</summary>
    public static bool IsFloating(this DType t) => t is DType.Float32 or DType.Float64 or DType.Float16 or DType.BFloat16;

    /// <summary>True for the integer types (not bool).</summary>
    public static bool IsInteger(this DType t) => t is DType.Int64 or DType.Int32 or DType.Int8 or DType.UInt8;

    /// <summary>Lower-case name as used in error messages and file formats ("float32", "bool", …).</summary>
    public static string Name(this DType t) => t switch
    {
        DType.Float32 => "float32",
        DType.Float64 => "float64",
        DType.Float16 => "float16",
        DType.BFloat16 => "bfloat16",
        DType.Int64 => "int64",
        DType.Int32 => "int32",
        DType.Int8 => "int8",
        DType.UInt8 => "uint8",
        DType.Bool => "bool",
        _ => t.ToString(),
    };

    private static int Category(DType t) => t == DType.Bool ? 0 : t.IsInteger() ? 1 : 2;

    private static int IntRank(DType t) => t switch { DType.UInt8 or DType.Int8 => 0, DType.Int32 => 1, _ => 2 };

    private static int FloatRank(DType t) => t switch { DType.Float16 or DType.BFloat16 => 0, DType.Float32 => 1, _ => 2 };

    /// <summary>The result type of a binary operation on two tensors of types <paramref name="a"/> and <paramref name="b"/>.</summary>
    public static DType Promote(DType a, DType b)
    {
        if (a == b) return a;
        int ca = Category(a), cb = Category(b);
        if (ca != cb) return ca > cb ? a : b;
        if (ca == 1)
        {
            if ((a == DType.UInt8 && b == DType.Int8) || (a == DType.Int8 && b == DType.UInt8)) return DType.Int32;
            return IntRank(a) >= IntRank(b) ? a : b;
        }
        // floating: f16 ⊕ bf16 → f32, otherwise the wider one.
        int ra = FloatRank(a), rb = FloatRank(b);
        if (ra == rb) return DType.Float32;
        return ra > rb ? a : b;
    }

    /// <summary>The result type of a tensor of type <paramref name="tensor"/> combined with a C# scalar (weak typing).</summary>
    public static DType PromoteWithScalar(DType tensor, bool scalarIsFloating, bool scalarIsBool = false)
    {
        if (scalarIsFloating) return tensor.IsFloating() ? tensor : DefaultFloat;
        if (scalarIsBool) return tensor;
        return tensor == DType.Bool ? DType.Int64 : tensor;
    }

    /// <summary>The floating type an op on <paramref name="t"/> computes in (int/bool inputs become <see cref="DefaultFloat"/>).</summary>
    public static DType ToFloating(DType t) => t.IsFloating() ? t : DefaultFloat;
}
