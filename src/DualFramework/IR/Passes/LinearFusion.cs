using DualFramework.Operators;

namespace DualFramework.IR.Passes;

/// <summary>
/// Fuses <c>add(matmul(x, Wᵀ), b)</c> (either operand order of the add) into <c>linear(x, W, b)</c> when it is exactly
/// linear's rule: Wᵀ is <c>permute(W, [1, 0])</c> of a <c>[out, in]</c> W, or a <c>[in, out]</c> constant (transposed at
/// compile time); b is a <c>[out]</c> vector of the same dtype; the add does not broadcast beyond the matmul's shape; and
/// the matmul result has no other use.
/// </summary>
public sealed class LinearFusion : IGraphPass
{
    /// <inheritdoc />
    public string Name => "linear_fusion";

    /// <inheritdoc />
    public bool Run(Graph graph)
    {
        var uses = PassUtil.UseCounts(graph);
        return PassUtil.Rewrite(graph, (n, nodes, map) =>
        {
            if (!ReferenceEquals(n.Op, OpSet.Add) || (Match(graph, n, 0, uses) ?? Match(graph, n, 1, uses)) is not { } fused) return false;
            nodes.Add(fused);
            map[n.Outputs[0]] = fused.Outputs[0];
            return true;
        });
    }

    private static Node? Match(Graph g, Node add, int mmSide, Dictionary<Value, int> uses)
    {
        var mm = add.Inputs[mmSide];
        var b = add.Inputs[1 - mmSide];
        if (mm.Producer is not { } m || !ReferenceEquals(m.Op, OpSet.MatMul) || uses.GetValueOrDefault(mm) != 1) return null;
        if (add.Outputs[0].Spec != mm.Spec || !mm.Spec.DType.IsFloating()) return null;
        Value x = m.Inputs[0], wt = m.Inputs[1];
        if (wt.Spec.Shape.Rank != 2 || x.Spec.Shape.Rank < 1) return null;
        long outF = wt.Spec.Shape[1];
        if (b.Spec.Shape.Rank != 1 || b.Spec.Shape[0] != outF || b.Spec.DType != mm.Spec.DType) return null;
        Value w;
        if (wt.Producer is { Attrs: PermuteAttrs p } perm && ReferenceEquals(perm.Op, OpSet.Permute) && p.Perm is [1, 0])
            w = perm.Inputs[0];
        else if (wt.IsConstant)
            w = g.AddConstant(new TensorSpec(new Shape(outF, wt.Spec.Shape[0]), wt.Spec.DType), Transpose(wt), wt.Name + "_t");
        else return null;
        return g.CreateDetachedNode(OpSet.Linear, OpAttrs.None, [x, w, b], add.LayerPath);
    }

    private static byte[] Transpose(Value c)
    {
        long rows = c.Spec.Shape[0], cols = c.Spec.Shape[1];
        int es = c.Spec.DType.ElementSize();
        var src = c.ConstantData!;
        var dst = new byte[src.Length];
        for (long i = 0; i < rows; i++)
            for (long j = 0; j < cols; j++)
                Array.Copy(src, (i * cols + j) * es, dst, (j * rows + i) * es, es);
        return dst;
    }
}
