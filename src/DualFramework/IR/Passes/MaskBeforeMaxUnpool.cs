using DualFramework.Operators;

namespace DualFramework.IR.Passes;

/// <summary>
/// Moves a threshold mask from a max-pool gradient's full-size result to the pooled gradient:
/// <c>where(r &gt; t, max_unpool2d(g, idx), 0)</c> with <c>(y, idx) = max_pool2d(r)</c> becomes
/// <c>max_unpool2d(where(y &gt; t, g, 0), idx)</c>. This is ReLU's gradient behind a max pool (ReLU, then pooling, as in most
/// CNNs), computed on a tensor the pooling window's size smaller.
/// </summary>
/// <remarks>
/// Exact: the unpooling is zero away from <c>idx</c>, and at <c>idx</c> the pooled input is the window's maximum, so
/// <c>r[idx] = y</c> and both masks agree (NaN included: it fails both comparisons). Only a rank-0 constant threshold
/// and an all-zero "else" operand (a constant or a <c>full</c> of 0) are matched.
/// </remarks>
public sealed class MaskBeforeMaxUnpool : IGraphPass
{
    /// <inheritdoc />
    public string Name => "mask_before_max_unpool";

    /// <inheritdoc />
    public bool Run(Graph graph) => PassUtil.Rewrite(graph, (n, nodes, map) =>
    {
        if (!ReferenceEquals(n.Op, OpSet.Where)) return false;
        Value cond = n.Inputs[0], unpooled = n.Inputs[1], otherwise = n.Inputs[2];
        if (cond.Producer is not { } greater || !ReferenceEquals(greater.Op, OpSet.Greater)) return false;
        if (unpooled.Producer is not { } unpool || !ReferenceEquals(unpool.Op, OpSet.MaxUnpool2d)) return false;
        Value r = greater.Inputs[0], threshold = greater.Inputs[1], idx = unpool.Inputs[1];
        if (idx.Producer is not { } pool || !ReferenceEquals(pool.Op, OpSet.MaxPool2d)
            || !ReferenceEquals(pool.Outputs[1], idx) || !ReferenceEquals(pool.Inputs[0], r)) return false;
        if (!threshold.IsConstant || threshold.Spec.Shape.Rank != 0 || !IsZero(otherwise)) return false;
        var shape = r.Spec.Shape;
        if (cond.Spec.Shape != shape || unpooled.Spec.Shape != shape || n.Outputs[0].Spec.Shape != shape) return false;

        string? path = n.LayerPath;
        Value g = unpool.Inputs[0];
        Value Emit(Op op, OpAttrs attrs, params Value[] inputs)
        {
            var node = graph.CreateDetachedNode(op, attrs, inputs, path);
            nodes.Add(node);
            return node.Outputs[0];
        }
        var mask = Emit(OpSet.Greater, greater.Attrs, pool.Outputs[0], threshold);
        var zero = graph.AddConstant(new TensorSpec(Shape.Scalar, g.Spec.DType), new byte[g.Spec.DType.ElementSize()], "zero");
        var masked = Emit(OpSet.Where, n.Attrs, mask, g, zero);
        map[n.Outputs[0]] = Emit(OpSet.MaxUnpool2d, unpool.Attrs, masked, idx);
        return true;
    });

    private static bool IsZero(Value v)
    {
        if (v.ConstantData is { } data) return Array.TrueForAll(data, b => b == 0);
        return v.Producer is { Op: var op, Attrs: FullAttrs f } && ReferenceEquals(op, OpSet.Full) && f.Value == 0;
    }
}
