using DualFramework.Operators;

namespace DualFramework.IR.Passes;

/// <summary>
/// Runs the nodes that a backend cannot compute in float16 or bfloat16 in float32 instead, with ordinary
/// <c>cast</c> nodes around them (so they show in <see cref="Graph.Dump"/>): every half-precision floating operand is cast
/// to float32, the node runs on the float32 operands (its half-precision outputs become float32), and each such output is
/// cast back to its original dtype, so that the rest of the graph sees the same specs as before. Afterwards cast pairs
/// <c>cast(cast(x, wider), dtype(x))</c> whose first cast widens exactly are bypassed.
/// </summary>
/// <remarks>
/// <para>The pass is generic: which op a target runs at which dtype comes from the predicate given to the constructor
/// (the graph backend passes ONNX Runtime's CPU kernel table). Each fallback node rounds its results to the original dtype
/// once, as eager libtorch does for half-precision ops (computed in float, rounded on output), so values do not depend on
/// whether the target had a half-precision kernel. For the same reason the pair <c>cast(cast(y, bfloat16), float32)</c>
/// between two consecutive fallback nodes is kept: it is that rounding.</para>
/// <para>Nodes whose outputs do not follow their operands' dtype (creation ops, whose dtype is an attribute) cannot be moved
/// to float32 this way and are left as they are; a target has to run those itself.</para>
/// </remarks>
public sealed class LowPrecisionFallback : IGraphPass
{
    private readonly Func<Node, DType, bool> _canRun;

    /// <summary>Creates the pass.</summary>
    /// <param name="canRun">Whether the target runs <paramref name="canRun"/>'s node at the given half-precision dtype
    /// (<see cref="DType.Float16"/> or <see cref="DType.BFloat16"/>) as it is; asked only for nodes with operands or outputs
    /// of that dtype.</param>
    public LowPrecisionFallback(Func<Node, DType, bool> canRun) => _canRun = canRun ?? throw new ArgumentNullException(nameof(canRun));

    /// <inheritdoc />
    public string Name => "low_precision_fallback";

    /// <summary>True for the dtypes this pass moves to float32: <see cref="DType.Float16"/> and <see cref="DType.BFloat16"/>.</summary>
    public static bool IsLowPrecision(DType dtype) => dtype is DType.Float16 or DType.BFloat16;

    /// <inheritdoc />
    public bool Run(Graph graph)
    {
        // One float32 copy per half-precision value, shared by all fallback nodes that read it.
        var widened = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);
        bool changed = PassUtil.Rewrite(graph, (n, nodes, map) => TryFallBack(graph, n, nodes, map, widened));
        return CastPairs.Fold(graph) | changed;
    }

    private bool TryFallBack(Graph graph, Node n, List<Node> nodes, Dictionary<Value, Value> map, Dictionary<Value, Value> widened)
    {
        if (ReferenceEquals(n.Op, OpSet.Cast)) return false; // a cast is the fallback's own tool: every target runs it
        var low = n.Inputs.Select(v => v.Spec.DType).Concat(n.Outputs.Select(v => v.Spec.DType)).Where(IsLowPrecision).Distinct().ToArray();
        if (low.Length == 0 || low.All(dt => _canRun(n, dt))) return false;

        // Check first that the op computes float32 from float32 operands (nothing may be emitted for a node left alone).
        var specs = n.Inputs.Select(v => Widen(v.Spec)).ToArray();
        TensorSpec[] outs;
        try { outs = n.Op.Infer(specs, n.Attrs); }
        catch (OpException) { return false; }
        if (outs.Length != n.Outputs.Length || outs.Where((s, k) => s != Widen(n.Outputs[k].Spec)).Any()) return false;

        var inputs = n.Inputs.Select(v => IsLowPrecision(v.Spec.DType) ? Float32Of(graph, v, nodes, widened, n.LayerPath) : v).ToArray();
        var wide = graph.CreateDetachedNode(n.Op, n.Attrs, inputs, n.LayerPath);
        nodes.Add(wide);
        for (int k = 0; k < n.Outputs.Length; k++)
        {
            var original = n.Outputs[k];
            if (!IsLowPrecision(original.Spec.DType))
            {
                wide.Outputs[k].Name = original.Name;
                map[original] = wide.Outputs[k];
                continue;
            }
            var back = graph.CreateDetachedNode(OpSet.Cast, new CastAttrs(original.Spec.DType), [wide.Outputs[k]], n.LayerPath);
            nodes.Add(back);
            // The rounded value keeps the original name, so the rest of the dump reads as before.
            wide.Outputs[k].Name = original.Name + "_f32";
            back.Outputs[0].Name = original.Name;
            map[original] = back.Outputs[0];
        }
        return true;
    }

    private static TensorSpec Widen(TensorSpec s) => IsLowPrecision(s.DType) ? new TensorSpec(s.Shape, DType.Float32) : s;

    private static Value Float32Of(Graph graph, Value v, List<Node> nodes, Dictionary<Value, Value> widened, string? layerPath)
    {
        if (widened.TryGetValue(v, out var w)) return w;
        var cast = graph.CreateDetachedNode(OpSet.Cast, new CastAttrs(DType.Float32), [v], layerPath);
        nodes.Add(cast);
        return widened[v] = cast.Outputs[0];
    }
}

/// <summary>
/// The cast-pair rule shared by <see cref="LowPrecisionFallback"/> and <see cref="AlgebraicSimplification"/>:
/// <c>cast(cast(x, wider), dtype(x))</c> is x when the first cast is an exact floating widening (float16/bfloat16 →
/// float32/float64, float32 → float64), since every value of x's dtype is representable in the wider one and converts
/// back unchanged. The reverse order (narrowing, then widening) rounds and is never folded.
/// </summary>
internal static class CastPairs
{
    /// <summary>True when every value of <paramref name="from"/> is exactly representable in <paramref name="to"/> (floating dtypes).</summary>
    public static bool IsExactWidening(DType from, DType to) => (from, to) switch
    {
        (DType.Float16 or DType.BFloat16, DType.Float32 or DType.Float64) => true,
        (DType.Float32, DType.Float64) => true,
        _ => false,
    };

    /// <summary>The value that <paramref name="n"/> reproduces when it is the outer cast of a foldable pair; null otherwise.</summary>
    public static Value? Source(Node n)
    {
        if (!ReferenceEquals(n.Op, OpSet.Cast) || n.Attrs is not CastAttrs outer) return null;
        if (n.Inputs[0].Producer is not { Op: var op, Attrs: CastAttrs inner } first || !ReferenceEquals(op, OpSet.Cast)) return null;
        var x = first.Inputs[0];
        return IsExactWidening(x.Spec.DType, inner.To) && outer.To == x.Spec.DType ? x : null;
    }

    /// <summary>Bypasses every foldable pair in <paramref name="graph"/>; returns whether any was found.</summary>
    public static bool Fold(Graph graph) => PassUtil.Rewrite(graph, (n, _, map) =>
    {
        if (Source(n) is not { } x) return false;
        map[n.Outputs[0]] = x;
        return true;
    });
}
