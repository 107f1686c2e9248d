using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>Determinants of the square matrices in the last two axes (torch.linalg.det): <c>[..., n, n]</c> →
    /// <c>[...]</c>. Floating operands (half precision computed in float32); differentiable (the gradient is the cofactor matrix, also for singular
    /// matrices).</summary>
    public static Tensor Det(Tensor x) => Apply(OpSet.Det, x);
}
