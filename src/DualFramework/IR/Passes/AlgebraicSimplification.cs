using DualFramework.Operators;

namespace DualFramework.IR.Passes;

/// <summary>
/// Local identities: <c>x·1</c>, <c>1·x</c>, <c>x+0</c>, <c>0+x</c>, <c>x−0</c>, <c>x/1</c> (when broadcasting leaves x's
/// shape unchanged), a cast to x's own dtype, a cast back after an exact widening (<c>cast(cast(x, float32), bfloat16)</c> for a
/// bfloat16 x, see <see cref="LowPrecisionFallback"/>; never narrowing then widening, which rounds), a reshape or broadcast to x's own shape, <c>reshape(reshape(x))</c> →
/// one reshape, two permutes composing to the identity, and <c>stop_gradient</c> (gradients are already in the graph when
/// it runs). The identity nodes are bypassed; dead-code elimination removes them.
/// </summary>
public sealed class AlgebraicSimplification : IGraphPass
{
    /// <inheritdoc />
    public string Name => "algebraic_simplification";

    /// <inheritdoc />
    public bool Run(Graph graph)
    {
        var map = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);
        bool changed = false;
        foreach (var n in graph.Nodes)
        {
            for (int i = 0; i < n.Inputs.Length; i++)
                if (map.TryGetValue(n.Inputs[i], out var r)) n.Inputs[i] = r;
            var y = n.Outputs[0];
            var same = Identity(n);
            if (same != null && same.Spec == y.Spec)
            {
                map[y] = same;
                changed = true;
                continue;
            }
            // reshape(reshape(z)) → reshape(z): the outer shape is all that matters.
            if (ReferenceEquals(n.Op, OpSet.Reshape) && n.Inputs[0].Producer is { } inner && ReferenceEquals(inner.Op, OpSet.Reshape))
            {
                n.Inputs[0] = inner.Inputs[0];
                changed = true;
            }
        }
        for (int i = 0; i < graph.Outputs.Count; i++)
            if (map.TryGetValue(graph.Outputs[i], out var r)) graph.SetOutput(i, r);
        if (changed) new DeadCodeElimination().Run(graph);
        return changed;
    }

    private static Value? Identity(Node n)
    {
        var op = n.Op;
        var ins = n.Inputs;
        if (n.Outputs.Length != 1) return null;
        if (ReferenceEquals(op, OpSet.Mul))
            return PassUtil.IsSplat(ins[1], 1) ? ins[0] : PassUtil.IsSplat(ins[0], 1) ? ins[1] : null;
        if (ReferenceEquals(op, OpSet.Add))
            return PassUtil.IsSplat(ins[1], 0) ? ins[0] : PassUtil.IsSplat(ins[0], 0) ? ins[1] : null;
        if (ReferenceEquals(op, OpSet.Sub)) return PassUtil.IsSplat(ins[1], 0) ? ins[0] : null;
        if (ReferenceEquals(op, OpSet.Div)) return PassUtil.IsSplat(ins[1], 1) ? ins[0] : null;
        if (CastPairs.Source(n) is { } widenedAndBack) return widenedAndBack;
        if (ReferenceEquals(op, OpSet.Cast) || ReferenceEquals(op, OpSet.Reshape) || ReferenceEquals(op, OpSet.BroadcastTo) ||
            ReferenceEquals(op, OpSet.StopGradient))
            return ins[0]; // the spec check in Run keeps only true identities (same dtype / same shape)
        if (ReferenceEquals(op, OpSet.Permute) && n.Attrs is PermuteAttrs outer && ins[0].Producer is { Attrs: PermuteAttrs p1 } inner &&
            ReferenceEquals(inner.Op, OpSet.Permute) && outer.Perm.Select((a, i) => p1.Perm[a] == i).All(b => b))
            return inner.Inputs[0];
        if (ReferenceEquals(op, OpSet.Permute) && n.Attrs is PermuteAttrs id && id.Perm.Select((a, i) => a == i).All(b => b))
            return ins[0];
        return null;
    }
}
