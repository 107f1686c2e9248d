using DualFramework.Onnx.Proto;

namespace DualFramework.Quantization;

/// <summary>Quantization parameters chosen for one activation tensor.</summary>
/// <param name="Tensor">The tensor's name in the float model.</param>
/// <param name="Min">Calibrated minimum (before widening to contain 0).</param>
/// <param name="Max">Calibrated maximum.</param>
/// <param name="Scale">Scale of its QuantizeLinear.</param>
/// <param name="ZeroPoint">Zero point of its QuantizeLinear.</param>
/// <param name="SharedWith">The tensor whose parameters it reuses (layout ops), or null.</param>
public sealed record ActivationParams(string Tensor, float Min, float Max, float Scale, int ZeroPoint, string? SharedWith);

/// <summary>Rewrites a float model into the QDQ form along a <see cref="QdqPlan"/> and the activation parameters of its
/// roots (calibrated for post-training quantization, learned for QAT).</summary>
internal static class QdqRewriter
{
    /// <summary>The parameters of every root of <paramref name="plan"/> from calibrated ranges (ONNX Runtime's formulas).</summary>
    public static Dictionary<string, ActivationParams> FromRanges(QdqPlan plan, IReadOnlyDictionary<string, (float Min, float Max)> ranges, bool signedActivations)
    {
        var (aMin, aMax) = QuantMath.Range(signedActivations, symmetric: false, reduceRange: false);
        return plan.Roots.ToDictionary(r => r, r =>
        {
            var (lo, hi) = ranges[r];
            var p = QuantMath.Asymmetric(lo, hi, aMin, aMax);
            return new ActivationParams(r, lo, hi, p.Scale, p.ZeroPoint, null);
        }, StringComparer.Ordinal);
    }

    /// <summary>Applies the plan to <paramref name="m"/> in place with the parameters <paramref name="roots"/> of its roots;
    /// returns the activation parameters used (roots, then the tensors sharing them).</summary>
    public static List<ActivationParams> Apply(ModelProto m, QdqPlan plan, IReadOnlyDictionary<string, ActivationParams> roots,
        bool signedActivations, bool reduceRange, bool perChannel, bool quantizeBias)
    {
        var g = m.Graph;
        var names = OnnxModel.Names(g);
        var inits = g.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);

        // Activations: one scale/zero-point pair per root; shared tensors point at their root's initializers.
        var qparams = new Dictionary<string, (QuantParams P, string Scale, string Zp)>(StringComparer.Ordinal);
        var report = new List<ActivationParams>();
        foreach (var root in plan.Roots)
        {
            var a = roots[root];
            var p = new QuantParams(a.Scale, a.ZeroPoint);
            string s = OnnxModel.Fresh(names, root + "_scale"), z = OnnxModel.Fresh(names, root + "_zero_point");
            g.Initializer.Add(OnnxModel.FloatTensor(s, [], [p.Scale]));
            g.Initializer.Add(OnnxModel.ByteTensor(z, [], [p.ZeroPoint], signedActivations));
            qparams[root] = (p, s, z);
            report.Add(a);
        }
        foreach (var (tensor, root) in plan.Shared)
        {
            qparams[tensor] = qparams[root];
            report.Add(roots[root] with { Tensor = tensor, SharedWith = root });
        }

        // Q/DQ pairs: every reader of a quantized tensor reads its dequantized copy.
        var pairs = new Dictionary<string, NodeProto[]>(StringComparer.Ordinal);
        var dequantized = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (tensor, (_, s, z)) in qparams)
        {
            string q = OnnxModel.Fresh(names, tensor + "_quantized"), dq = OnnxModel.Fresh(names, tensor + "_dequantized");
            pairs[tensor] =
            [
                OnnxModel.Node("QuantizeLinear", OnnxModel.Fresh(names, tensor + "_QuantizeLinear"), [tensor, s, z], [q]),
                OnnxModel.Node("DequantizeLinear", OnnxModel.Fresh(names, tensor + "_DequantizeLinear"), [q, s, z], [dq]),
            ];
            dequantized[tensor] = dq;
        }
        foreach (var n in g.Node)
            for (int k = 0; k < n.Input.Count; k++)
                if (dequantized.TryGetValue(n.Input[k], out var dq)) n.Input[k] = dq;

        // Weights (and biases) behind their own DequantizeLinear, placed before every other node.
        var head = new List<NodeProto>();
        var weightCache = new Dictionary<(string, int), (string Out, float[] Scales)>();
        foreach (var n in plan.Anchors)
        {
            int axis = QdqPlan.ChannelAxis(n);
            var w = inits[n.Input[1]];
            if (!weightCache.TryGetValue((w.Name, axis), out var wq))
            {
                var (q, scales) = WeightQuantizer.Quantize(OnnxModel.Floats(w), w.Dims, axis, perChannel, reduceRange);
                string qn = OnnxModel.Fresh(names, w.Name + "_quantized"), sn = OnnxModel.Fresh(names, w.Name + "_scale");
                string zn = OnnxModel.Fresh(names, w.Name + "_zero_point"), outName = OnnxModel.Fresh(names, w.Name + "_dequantized");
                long[] vec = perChannel ? [scales.Length] : [];
                g.Initializer.Add(OnnxModel.ByteTensor(qn, w.Dims.ToArray(), q, signed: true));
                g.Initializer.Add(OnnxModel.FloatTensor(sn, vec, scales));
                g.Initializer.Add(OnnxModel.ByteTensor(zn, vec, new int[scales.Length], signed: true));
                head.Add(Dq(names, w.Name, qn, sn, zn, outName, perChannel ? axis : null));
                weightCache[(w.Name, axis)] = wq = (outName, scales);
            }
            n.Input[1] = wq.Out;
            string x = n.Input[0];
            string source = dequantized.FirstOrDefault(p => p.Value == x).Key ?? x;
            if (quantizeBias && n.OpType is "Conv" or "Gemm" && n.Input.Count > 2 && inits.TryGetValue(n.Input[2], out var b)
                && b.DataType == w.DataType && b.Dims.Count == 1 && qparams.TryGetValue(source, out var xp))
                n.Input[2] = QuantizeBias(g, names, head, b, xp.P.Scale, wq.Scales);
        }

        var nodes = new List<NodeProto>(head);
        foreach (var i in g.Input) if (pairs.TryGetValue(i.Name, out var p)) nodes.AddRange(p);
        foreach (var n in g.Node)
        {
            nodes.Add(n);
            foreach (var o in n.Output) if (pairs.TryGetValue(o, out var p)) nodes.AddRange(p);
        }
        g.Node.Clear();
        g.Node.AddRange(nodes);
        OnnxModel.DropUnusedInitializers(g);
        return report;
    }

    // int32 bias with scale x_scale·w_scale_c and zero point 0: the integer kernels add it to the int32 accumulator as is.
    private static string QuantizeBias(GraphProto g, HashSet<string> names, List<NodeProto> head, TensorProto b, float xScale, float[] wScales)
    {
        var values = OnnxModel.Floats(b);
        var scales = new float[values.Length];
        var q = new int[values.Length];
        for (int c = 0; c < values.Length; c++)
        {
            scales[c] = xScale * wScales[wScales.Length == 1 ? 0 : c];
            q[c] = (int)Math.Clamp(Math.Round(values[c] / (double)scales[c], MidpointRounding.ToEven), int.MinValue, int.MaxValue);
        }
        string qn = OnnxModel.Fresh(names, b.Name + "_quantized"), sn = OnnxModel.Fresh(names, b.Name + "_scale");
        string zn = OnnxModel.Fresh(names, b.Name + "_zero_point"), outName = OnnxModel.Fresh(names, b.Name + "_dequantized");
        g.Initializer.Add(OnnxModel.Int32Tensor(qn, [values.Length], q));
        g.Initializer.Add(OnnxModel.FloatTensor(sn, [values.Length], scales));
        g.Initializer.Add(OnnxModel.Int32Tensor(zn, [values.Length], new int[values.Length]));
        head.Add(Dq(names, b.Name, qn, sn, zn, outName, 0));
        return outName;
    }

    private static NodeProto Dq(HashSet<string> names, string what, string q, string s, string z, string output, int? axis)
    {
        var n = OnnxModel.Node("DequantizeLinear", OnnxModel.Fresh(names, what + "_DequantizeLinear"), [q, s, z], [output]);
        if (axis is { } a) n.Attribute.Add(OnnxModel.Int("axis", a));
        return n;
    }
}
