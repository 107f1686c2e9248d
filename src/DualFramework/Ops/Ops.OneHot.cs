using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>One-hot encoding: integer <paramref name="indices"/> of shape S give a tensor of shape S + [<paramref name="depth"/>]
    /// holding 1 at position <c>indices[s]</c> of row s and 0 elsewhere. Not differentiable.</summary>
    /// <param name="indices">Integer tensor (any rank) with values in [0, <paramref name="depth"/>); on the torch backend an
    /// out-of-range value makes libtorch raise at run time.</param>
    /// <param name="depth">Number of classes (≥ 1).</param>
    /// <param name="dtype">Result dtype.</param>
    public static Tensor OneHot(Tensor indices, long depth, DType dtype = DType.Float32) =>
        Apply(OpSet.OneHot, new OneHotAttrs(depth, dtype), indices);
}
