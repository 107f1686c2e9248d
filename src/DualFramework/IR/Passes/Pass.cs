using System.Runtime.InteropServices;
using DualFramework.Backends;
using DualFramework.Operators;

namespace DualFramework.IR.Passes;

/// <summary>A graph transformation.</summary>
public interface IGraphPass
{
    /// <summary>Name for logs and dumps.</summary>
    string Name { get; }

    /// <summary>Rewrites <paramref name="graph"/> in place; returns true when it changed anything.</summary>
    bool Run(Graph graph);
}

/// <summary>Helpers shared by passes.</summary>
internal static class PassUtil
{
    /// <summary>Replaces every use (node operands and graph outputs) of each key by its value, in one sweep.</summary>
    public static void Rewire(Graph g, Dictionary<Value, Value> map)
    {
        if (map.Count == 0) return;
        Value R(Value v)
        {
            while (map.TryGetValue(v, out var to)) v = to;
            return v;
        }
        foreach (var n in g.Nodes)
            for (int i = 0; i < n.Inputs.Length; i++) n.Inputs[i] = R(n.Inputs[i]);
        for (int i = 0; i < g.Outputs.Count; i++) g.SetOutput(i, R(g.Outputs[i]));
    }

    /// <summary>Number of uses of each value (operands and graph outputs).</summary>
    /// <summary>
    /// The driver of local rewrites: walks the nodes in order with their operands remapped, lets
    /// <paramref name="tryRewrite"/> either emit replacement nodes into the list and record value replacements in the map
    /// (returning true) or decline (false: the node is kept), then rewires the outputs, installs the new node list and
    /// removes what became dead. Returns whether anything was rewritten.
    /// </summary>
    public static bool Rewrite(Graph g, Func<Node, List<Node>, Dictionary<Value, Value>, bool> tryRewrite)
    {
        var map = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);
        var nodes = new List<Node>();
        bool changed = false;
        foreach (var n in g.Nodes)
        {
            for (int i = 0; i < n.Inputs.Length; i++)
                if (map.TryGetValue(n.Inputs[i], out var r)) n.Inputs[i] = r;
            if (tryRewrite(n, nodes, map)) changed = true;
            else nodes.Add(n);
        }
        if (!changed) return false;
        for (int i = 0; i < g.Outputs.Count; i++)
            if (map.TryGetValue(g.Outputs[i], out var r)) g.SetOutput(i, r);
        g.ReplaceNodes(nodes);
        new DeadCodeElimination().Run(g);
        return true;
    }

    public static Dictionary<Value, int> UseCounts(Graph g)
    {
        var d = new Dictionary<Value, int>(ReferenceEqualityComparer.Instance);
        foreach (var n in g.Nodes)
            foreach (var i in n.Inputs) d[i] = d.GetValueOrDefault(i) + 1;
        foreach (var o in g.Outputs) d[o] = d.GetValueOrDefault(o) + 1;
        return d;
    }

    /// <summary>The elements of a constant as doubles (null for dtypes without a host conversion here).</summary>
    public static double[]? Values(Value c)
    {
        if (c.ConstantData is not { } b) return null;
        return c.Spec.DType switch
        {
            DType.Float32 => MemoryMarshal.Cast<byte, float>(b).ToArray().Select(x => (double)x).ToArray(),
            DType.Float64 => MemoryMarshal.Cast<byte, double>(b).ToArray(),
            DType.Int64 => MemoryMarshal.Cast<byte, long>(b).ToArray().Select(x => (double)x).ToArray(),
            DType.Int32 => MemoryMarshal.Cast<byte, int>(b).ToArray().Select(x => (double)x).ToArray(),
            _ => null,
        };
    }

    /// <summary>Bytes of <paramref name="values"/> in a float32 or float64 dtype (null otherwise).</summary>
    public static byte[]? Bytes(double[] values, DType dtype) => dtype switch
    {
        DType.Float32 => MemoryMarshal.AsBytes(values.Select(v => (float)v).ToArray().AsSpan()).ToArray(),
        DType.Float64 => MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
        _ => null,
    };

    /// <summary>True when <paramref name="v"/> is known to hold <paramref name="x"/> in every element: a constant, or a
    /// <c>full</c> node.</summary>
    public static bool IsSplat(Value v, double x)
    {
        if (v.IsConstant) return Values(v) is { } vals && vals.All(e => e == x);
        return v.Producer is { Op: var op, Attrs: FullAttrs f } && ReferenceEquals(op, OpSet.Full) && f.Value == x;
    }

    /// <summary>True for ops whose result depends on a random seed (never folded into constants).</summary>
    public static bool IsRandom(Op op) =>
        ReferenceEquals(op, OpSet.RandomUniform) || ReferenceEquals(op, OpSet.RandomNormal) || ReferenceEquals(op, OpSet.Dropout);
}

/// <summary>
/// An ordered list of passes run repeatedly until none changes the graph (at most <see cref="MaxIterations"/> rounds).
/// </summary>
public sealed class PassPipeline
{
    /// <summary>Creates a pipeline running <paramref name="passes"/> in order.</summary>
    public PassPipeline(IEnumerable<IGraphPass> passes, int maxIterations = 4)
    {
        Passes = passes.ToArray();
        MaxIterations = maxIterations;
    }

    /// <summary>The passes in order.</summary>
    public IReadOnlyList<IGraphPass> Passes { get; }

    /// <summary>Maximum number of rounds.</summary>
    public int MaxIterations { get; }

    /// <summary>A pipeline that leaves graphs unchanged.</summary>
    public static PassPipeline Empty { get; } = new([]);

    /// <summary>
    /// The default pipeline: algebraic simplification, constant folding (evaluated on <paramref name="evaluationBackend"/>),
    /// common-subexpression elimination, matmul+add→linear fusion and dead-code elimination; for inference
    /// (<paramref name="training"/> false) also Conv+BatchNorm folding.
    /// </summary>
    public static PassPipeline Default(IComputeBackend evaluationBackend, bool training)
    {
        var passes = new List<IGraphPass>
        {
            new AlgebraicSimplification(),
            new ConstantFolding(evaluationBackend),
            new CommonSubexpressionElimination(),
            new LinearFusion(),
        };
        if (!training) passes.Add(new ConvBatchNormFolding());
        passes.Add(new DeadCodeElimination());
        return new PassPipeline(passes);
    }

    /// <summary>Runs the passes until the graph stops changing; returns true when anything changed.</summary>
    public bool Run(Graph graph)
    {
        bool any = false;
        for (int round = 0; round < MaxIterations; round++)
        {
            bool changed = false;
            foreach (var p in Passes) changed |= p.Run(graph);
            any |= changed;
            if (!changed) break;
        }
        return any;
    }
}
