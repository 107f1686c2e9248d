using DualFramework.Onnx.Proto;
using DataType = DualFramework.Onnx.Proto.TensorProto.Types.DataType;

namespace DualFramework.Quantization;

/// <summary>
/// Which parts of a float model static quantization touches. Anchors are Conv, Gemm (transA = 0, alpha = beta = 1) and
/// MatMul nodes with a float32 initializer as weight; their activation input and their output are quantized, except that
/// an output read only by a Relu is left float and the Relu's output is quantized instead (ONNX Runtime then drops the
/// Relu into the integer kernel: the output range starts at 0, so its zero point is the integer minimum). Outputs of
/// layout ops (MaxPool, Flatten, Reshape, Transpose, Squeeze, Unsqueeze) whose input is quantized are quantized with
/// the same parameters, which lets ONNX Runtime run them on integers and drop their Q/DQ pair. Graph outputs stay float.
/// </summary>
internal sealed class QdqPlan
{
    private static readonly HashSet<string> LayoutOps = new(StringComparer.Ordinal) { "MaxPool", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze" };

    /// <summary>The weighted nodes to quantize, in graph order.</summary>
    public List<NodeProto> Anchors { get; } = [];

    /// <summary>Tensors that get their own calibrated range.</summary>
    public List<string> Roots { get; } = [];

    /// <summary>Layout outputs and the root whose parameters they reuse.</summary>
    public Dictionary<string, string> Shared { get; } = new(StringComparer.Ordinal);

    /// <summary>Nodes left float, with the reason (for the report).</summary>
    public List<string> Skipped { get; } = [];

    /// <summary>The plan for <paramref name="g"/>; <paramref name="exclude"/> may leave further weighted nodes float (it
    /// returns the reason, or null to quantize the node).</summary>
    public static QdqPlan Make(GraphProto g, Func<NodeProto, string?>? exclude = null)
    {
        var plan = new QdqPlan();
        var inits = g.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var outputs = g.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var consumers = Consumers(g);
        var roots = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in g.Node)
        {
            if ((WhyNot(n, inits) ?? exclude?.Invoke(n)) is { } reason)
            {
                if (n.OpType is "Conv" or "Gemm" or "MatMul") plan.Skipped.Add($"{n.Name} ({n.OpType}): {reason}");
                continue;
            }
            plan.Anchors.Add(n);
            roots.Add(n.Input[0]);
            string y = n.Output[0];
            if (!outputs.Contains(y) && consumers.TryGetValue(y, out var readers) && readers.Count == 1 && readers[0].OpType == "Relu")
                y = readers[0].Output[0];
            if (!outputs.Contains(y)) roots.Add(y);
        }
        // Graph order is topological, so a layout op's input has its final status when the op is reached.
        foreach (var n in g.Node)
        {
            if (!LayoutOps.Contains(n.OpType) || n.Output.Count != 1 || n.Input.Count == 0 || outputs.Contains(n.Output[0])) continue;
            string x = n.Input[0];
            string? root = plan.Shared.TryGetValue(x, out var r) ? r : roots.Contains(x) ? x : null;
            if (root == null) continue;
            plan.Shared[n.Output[0]] = root;
            roots.Remove(n.Output[0]);
        }
        plan.Roots.AddRange(roots.OrderBy(r => r, StringComparer.Ordinal));
        return plan;
    }

    /// <summary>Leaves <paramref name="root"/> float, with the layout outputs that shared its parameters.</summary>
    public void Unquantize(string root)
    {
        Roots.Remove(root);
        foreach (var t in Shared.Where(p => p.Value == root).Select(p => p.Key).ToList()) Shared.Remove(t);
    }

    /// <summary>The root whose parameters <paramref name="tensor"/> carries (itself when it is a root), or null.</summary>
    public string? RootOf(string tensor) => Shared.TryGetValue(tensor, out var r) ? r : Roots.Contains(tensor) ? tensor : null;

    /// <summary>Readers of each value.</summary>
    public static Dictionary<string, List<NodeProto>> Consumers(GraphProto g)
    {
        var map = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var n in g.Node)
            foreach (var i in n.Input.Where(i => i.Length > 0).Distinct())
            {
                if (!map.TryGetValue(i, out var list)) map[i] = list = [];
                list.Add(n);
            }
        return map;
    }

    /// <summary>Why <paramref name="n"/> is not an anchor, or null when it is one.</summary>
    public static string? WhyNot(NodeProto n, IReadOnlyDictionary<string, TensorProto> inits)
    {
        if (n.OpType is not ("Conv" or "Gemm" or "MatMul") || !string.IsNullOrEmpty(n.Domain)) return "not a weighted op";
        if (n.Input.Count < 2 || !inits.TryGetValue(n.Input[1], out var w)) return "the weight is not an initializer";
        if (w.DataType != (int)DataType.Float) return "the weight is not float32";
        if (inits.ContainsKey(n.Input[0])) return "the input is a constant";
        switch (n.OpType)
        {
            case "Conv" when w.Dims.Count < 3:
                return "the weight has fewer than 3 dims";
            case "Gemm" when OnnxModel.IntAttr(n, "transA", 0) != 0 || OnnxModel.FloatAttr(n, "alpha", 1f) != 1f || OnnxModel.FloatAttr(n, "beta", 1f) != 1f:
                return "transA, alpha or beta is not the default";
            case "Gemm" when w.Dims.Count != 2:
            case "MatMul" when w.Dims.Count != 2:
                return "the weight is not a matrix";
        }
        return null;
    }

    /// <summary>The length of a Conv's dot products (input channels per group × kernel elements), or null for other nodes
    /// and weights that are not initializers.</summary>
    public static long? ConvDepth(NodeProto n, IReadOnlyDictionary<string, TensorProto> inits) =>
        n.OpType == "Conv" && string.IsNullOrEmpty(n.Domain) && n.Input.Count > 1 && inits.TryGetValue(n.Input[1], out var w)
            ? ConvDepth(w.Dims)
            : null;

    /// <summary>The dot-product length of a convolution weight (out × in/groups × kernel…): every dim but the first; null
    /// for a weight of rank below 3 (not a convolution's).</summary>
    public static long? ConvDepth(IReadOnlyList<long> weightDims) =>
        weightDims.Count >= 3 ? weightDims.Skip(1).Aggregate(1L, (a, d) => a * d) : null;

    /// <summary>The output-channel axis of the weight of anchor <paramref name="n"/>: Conv's 0 (M×C×k…), Gemm's 0 with
    /// transB (N×K) else 1, MatMul's 1 (K×N).</summary>
    public static int ChannelAxis(NodeProto n) => n.OpType switch
    {
        "Conv" => 0,
        "Gemm" => OnnxModel.IntAttr(n, "transB", 0) != 0 ? 0 : 1,
        _ => 1,
    };
}
