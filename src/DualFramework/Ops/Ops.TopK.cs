using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>The <paramref name="k"/> largest (or smallest) elements of each line of <paramref name="x"/> along
    /// <paramref name="axis"/>, and their int64 positions (torch.topk). Differentiable in the values.</summary>
    /// <param name="x">The operand (rank ≥ 1, not bool).</param>
    /// <param name="k">How many to keep, at most the axis's size.</param>
    /// <param name="axis">The axis; negative counts from the end.</param>
    /// <param name="largest">True for the largest elements, false for the smallest.</param>
    /// <param name="sorted">True to order them (largest, or smallest, first).</param>
    public static (Tensor Values, Tensor Indices) TopK(Tensor x, long k, int axis = -1, bool largest = true, bool sorted = true)
    {
        int a = axis < 0 ? axis + x.Rank : axis;
        if (a < 0 || a >= x.Rank) throw new OpException("topk", [x.Spec], $"axis {axis} is out of range for rank {x.Rank}", LayerPath.Current);
        var outs = Dispatcher.ApplyMulti(OpSet.TopK, new TopKAttrs(k, a, largest, sorted), x);
        return (outs[0], outs[1]);
    }
}
