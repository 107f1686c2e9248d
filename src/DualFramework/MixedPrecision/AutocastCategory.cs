namespace DualFramework.MixedPrecision;

/// <summary>
/// How an op treats its floating operands while autocast is on (see <see cref="Autocast"/>). Every op of the op set declares
/// one (<see cref="Operators.Op.Autocast"/>; the table is <c>OpAutocast.cs</c>, compared with PyTorch's CPU lists in
/// docs/precision.md).
/// </summary>
public enum AutocastCategory : byte
{
    /// <summary>Not declared: an op added without a category. Runs like <see cref="Passthrough"/>; a guard test fails.</summary>
    Undeclared,

    /// <summary>Runs in whatever floating dtype its operands have (relu, reshape, pooling, dropout, creation ops…).</summary>
    Passthrough,

    /// <summary>Float32 operands are cast to the low-precision compute dtype (matmul, linear, conv, conv_transpose): the
    /// ops that gain from bf16/fp16 arithmetic and accumulate in float32 inside their kernels.</summary>
    LowerPrecision,

    /// <summary>Low-precision operands are cast up to float32 (losses, softmax, norms' statistics, accumulating
    /// reductions, exp/log/pow): where bf16/fp16 lose too much range or precision.</summary>
    Float32,

    /// <summary>Floating operands are cast to the widest floating dtype among them (add, concat, where…): ops that combine
    /// tensors which autocast may have left in different dtypes.</summary>
    Promote,
}
