namespace DualFramework.MixedPrecision;

/// <summary>
/// A dtype policy, as in Keras 3: the dtype variables are stored in and the dtype layers compute in. Under a mixed policy
/// variables stay float32 (master weights) and autocast runs the <see cref="AutocastCategory.LowerPrecision"/> ops in the
/// compute dtype; under a pure low-precision policy the variables themselves are stored in it.
/// </summary>
/// <param name="Name">The policy's name (<c>float32</c>, <c>mixed_bfloat16</c>, <c>mixed_float16</c>, <c>bfloat16</c>,
/// <c>float16</c>).</param>
/// <param name="VariableDType">The dtype of parameters and floating buffers.</param>
/// <param name="ComputeDType">The dtype the lower-precision ops run in.</param>
public sealed record DTypePolicy(string Name, DType VariableDType, DType ComputeDType)
{
    /// <summary>Everything in float32 (the default).</summary>
    public static readonly DTypePolicy Float32 = new("float32", DType.Float32, DType.Float32);

    /// <summary>float32 variables, bfloat16 compute for matmul/linear/conv: needs no loss scaling (bf16 has float32's
    /// exponent range).</summary>
    public static readonly DTypePolicy MixedBFloat16 = new("mixed_bfloat16", DType.Float32, DType.BFloat16);

    /// <summary>float32 variables, float16 compute for matmul/linear/conv: small gradients underflow float16, so training
    /// uses dynamic loss scaling (<see cref="LossScaler"/>; on by default in the trainer).</summary>
    public static readonly DTypePolicy MixedFloat16 = new("mixed_float16", DType.Float32, DType.Float16);

    /// <summary>Variables and compute in bfloat16 (inference, or experts who accept its 8-bit mantissa in the updates).</summary>
    public static readonly DTypePolicy BFloat16 = new("bfloat16", DType.BFloat16, DType.BFloat16);

    /// <summary>Variables and compute in float16 (inference).</summary>
    public static readonly DTypePolicy Float16 = new("float16", DType.Float16, DType.Float16);

    /// <summary>The five policies by name.</summary>
    public static IReadOnlyList<DTypePolicy> All { get; } = [Float32, MixedBFloat16, MixedFloat16, BFloat16, Float16];

    /// <summary>True when variables and compute dtypes differ (autocast applies).</summary>
    public bool IsMixed => VariableDType != ComputeDType;

    /// <summary>True when the compute dtype is float16 or bfloat16.</summary>
    public bool IsLowPrecision => ComputeDType is DType.BFloat16 or DType.Float16;

    /// <summary>True when training under this policy needs dynamic loss scaling by default (float16 compute with float32
    /// master weights; Keras and PyTorch do the same).</summary>
    public bool NeedsLossScaling => IsMixed && ComputeDType == DType.Float16;

    /// <summary>The policy called <paramref name="name"/> (case-insensitive; <c>-</c> may replace <c>_</c>).</summary>
    /// <exception cref="ArgumentException">An unknown name; the message lists the known ones.</exception>
    public static DTypePolicy Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var n = name.Trim().Replace('-', '_');
        return All.FirstOrDefault(p => string.Equals(p.Name, n, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException(
                $"Unknown precision policy '{name}'; expected one of {string.Join(", ", All.Select(p => p.Name))}.", nameof(name));
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
