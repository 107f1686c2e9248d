using DualFramework.Onnx.Proto;
using DataType = DualFramework.Onnx.Proto.TensorProto.Types.DataType;

namespace DualFramework.Quantization;

public static partial class Quantizer
{
    /// <summary>
    /// Dynamic quantization of the model file <paramref name="floatModelPath"/>: the weights of MatMul and Gemm nodes become
    /// int8 (symmetric, per output column by default) and their inputs are quantized at run time, as
    /// <c>DynamicQuantizeLinear → MatMulInteger → Cast → Mul(x_scale·w_scale) [→ Add bias]</c>, the pattern ONNX Runtime
    /// fuses into one <c>DynamicQuantizeMatMul</c> kernel. No calibration; Conv stays float (ONNX Runtime's CPU
    /// ConvInteger takes uint8 weights only).
    /// </summary>
    /// <exception cref="QuantizationException">Opset below 13, an already quantized model, or no MatMul/Gemm with a float32 weight.</exception>
    public static QuantizationResult QuantizeDynamic(string floatModelPath, string outputPath, DynamicQuantizationOptions? options = null) =>
        QuantizeDynamic(OnnxModel.Load(floatModelPath), outputPath, options);

    /// <summary>Dynamic quantization of <paramref name="model"/> (not modified); see
    /// <see cref="QuantizeDynamic(string, string, DynamicQuantizationOptions?)"/>.</summary>
    /// <exception cref="QuantizationException">See <see cref="QuantizeDynamic(string, string, DynamicQuantizationOptions?)"/>.</exception>
    public static QuantizationResult QuantizeDynamic(ModelProto model, string outputPath, DynamicQuantizationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        options ??= new DynamicQuantizationOptions();
        var m = model.Clone();
        CheckOpset(m);
        long floatBytes = m.CalculateSize();
        var g = m.Graph;
        var names = OnnxModel.Names(g);
        var inits = g.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var quantized = new List<string>();
        var skipped = new List<string>();
        var nodes = new List<NodeProto>();
        foreach (var n in g.Node)
        {
            string? why = n.OpType is "MatMul" or "Gemm" ? QdqPlan.WhyNot(n, inits) : null;
            if (n.OpType is not ("MatMul" or "Gemm") || why != null)
            {
                if (why != null || n.OpType == "Conv") skipped.Add($"{n.Name} ({n.OpType}): {why ?? "Conv is not quantized dynamically"}");
                nodes.Add(n);
                continue;
            }
            nodes.AddRange(Rewrite(g, names, n, inits[n.Input[1]], options));
            quantized.Add(string.IsNullOrEmpty(n.Name) ? n.OpType : n.Name);
        }
        if (quantized.Count == 0)
            throw new QuantizationException("The model has no MatMul or Gemm with a float32 initializer weight to quantize dynamically.");
        g.Node.Clear();
        g.Node.AddRange(nodes);
        OnnxModel.DropUnusedInitializers(g);
        var choice = new FormatChoice(QuantizationFormat.U8S8, options.ReduceRange,
            $"U8S8 (activations uint8 from DynamicQuantizeLinear, weights int8), {(options.ReduceRange ? "7" : "8")}-bit weights");
        Stamp(m, "dynamic", choice, null);
        OnnxModel.Save(m, outputPath);
        return new QuantizationResult(outputPath, "dynamic", choice, null, 0, quantized, skipped, [], floatBytes, new FileInfo(outputPath).Length);
    }

    // The weight is stored K×N (Gemm's transB weight transposed once here), one scale per column N.
    private static List<NodeProto> Rewrite(GraphProto g, HashSet<string> names, NodeProto n, TensorProto w, DynamicQuantizationOptions options)
    {
        string id = string.IsNullOrEmpty(n.Name) ? n.Output[0] : n.Name;
        var values = OnnxModel.Floats(w);
        long rows = w.Dims[0], cols = w.Dims[1];
        if (n.OpType == "Gemm" && OnnxModel.IntAttr(n, "transB", 0) != 0)
        {
            var t = new float[values.Length];
            for (long r = 0; r < rows; r++)
                for (long c = 0; c < cols; c++) t[c * rows + r] = values[r * cols + c];
            (values, rows, cols) = (t, cols, rows);
        }
        var (q, scales) = WeightQuantizer.Quantize(values, [rows, cols], axis: 1, options.PerChannel, options.ReduceRange);
        long[] vec = options.PerChannel ? [cols] : [];
        string F(string hint) => OnnxModel.Fresh(names, hint);
        string wq = F(w.Name + "_quantized"), ws = F(w.Name + "_scale"), wz = F(w.Name + "_zero_point");
        g.Initializer.Add(OnnxModel.ByteTensor(wq, [rows, cols], q, signed: true));
        g.Initializer.Add(OnnxModel.FloatTensor(ws, vec, scales));
        g.Initializer.Add(OnnxModel.ByteTensor(wz, vec, new int[scales.Length], signed: true));

        string x = n.Input[0], xq = F(x + "_quantized_" + id), xs = F(x + "_scale_" + id), xz = F(x + "_zero_point_" + id);
        string acc = F(id + "_int32"), accF = F(id + "_int32_float"), scale = F(id + "_output_scale");
        bool bias = n.OpType == "Gemm" && n.Input.Count > 2 && n.Input[2].Length > 0;
        string product = bias ? F(id + "_no_bias") : n.Output[0];
        var list = new List<NodeProto>
        {
            OnnxModel.Node("DynamicQuantizeLinear", F(id + "_DynamicQuantizeLinear"), [x], [xq, xs, xz]),
            OnnxModel.Node("MatMulInteger", F(id + "_MatMulInteger"), [xq, wq, xz, wz], [acc]),
            OnnxModel.Node("Cast", F(id + "_Cast"), [acc], [accF], OnnxModel.Int("to", (int)DataType.Float)),
            OnnxModel.Node("Mul", F(id + "_scale_Mul"), [xs, ws], [scale]),
            OnnxModel.Node("Mul", F(id + "_Mul"), [accF, scale], [product]),
        };
        if (bias) list.Add(OnnxModel.Node("Add", F(id + "_bias_Add"), [product, n.Input[2]], [n.Output[0]]));
        return list;
    }
}
