using DualFramework.Onnx.Proto;

namespace DualFramework.Quantization;

/// <summary>
/// INT8 post-training quantization of float32 ONNX models (as <c>ModuleExporter</c> writes them, or any imported one)
/// into ONNX models that ONNX Runtime runs with integer kernels. Static: activations are calibrated on sample inputs and
/// written in the QDQ form (QuantizeLinear→DequantizeLinear pairs around Conv/Gemm/MatMul, int8 weights behind
/// DequantizeLinear). Dynamic: int8 weights only, activations quantized at run time. See <c>docs/quantization.md</c>.
/// </summary>
public static partial class Quantizer
{
    /// <summary>Minimum ONNX opset: per-axis QuantizeLinear/DequantizeLinear (per-channel weights) arrived in opset 13.</summary>
    public const int MinOpset = 13;

    /// <summary>Static quantization of the model file <paramref name="floatModelPath"/>, calibrated on
    /// <paramref name="calibrationData"/> (one array per sample: the input's shape without the batch axis), written to
    /// <paramref name="outputPath"/>.</summary>
    /// <exception cref="QuantizationException">Bad calibration data (empty, wrong size, NaN/∞), a model with several inputs,
    /// opset below 13, or nothing to quantize.</exception>
    public static QuantizationResult QuantizeStatic(string floatModelPath, string outputPath, IEnumerable<float[]> calibrationData, StaticQuantizationOptions? options = null) =>
        QuantizeStatic(OnnxModel.Load(floatModelPath), outputPath, calibrationData, options);

    /// <summary>Static quantization of <paramref name="model"/> (not modified), calibrated on one array per sample.</summary>
    /// <exception cref="QuantizationException">See <see cref="QuantizeStatic(string, string, IEnumerable{float[]}, StaticQuantizationOptions?)"/>.</exception>
    public static QuantizationResult QuantizeStatic(ModelProto model, string outputPath, IEnumerable<float[]> calibrationData, StaticQuantizationOptions? options = null)
    {
        options ??= new StaticQuantizationOptions();
        return Static(model, outputPath, options, input => input.Batch(calibrationData, options.CalibrationBatchSize));
    }

    /// <summary>Static quantization of the model file <paramref name="floatModelPath"/>, calibrated on float32 tensors of
    /// the input's full shape (each a batch; the batch axis may vary when it is symbolic).</summary>
    /// <exception cref="QuantizationException">See <see cref="QuantizeStatic(string, string, IEnumerable{float[]}, StaticQuantizationOptions?)"/>;
    /// also a tensor of another dtype or shape.</exception>
    public static QuantizationResult QuantizeStatic(string floatModelPath, string outputPath, IEnumerable<Tensor> calibrationData, StaticQuantizationOptions? options = null) =>
        QuantizeStatic(OnnxModel.Load(floatModelPath), outputPath, calibrationData, options);

    /// <summary>Static quantization of <paramref name="model"/> (not modified), calibrated on float32 tensors.</summary>
    /// <exception cref="QuantizationException">See <see cref="QuantizeStatic(string, string, IEnumerable{Tensor}, StaticQuantizationOptions?)"/>.</exception>
    public static QuantizationResult QuantizeStatic(ModelProto model, string outputPath, IEnumerable<Tensor> calibrationData, StaticQuantizationOptions? options = null) =>
        Static(model, outputPath, options ?? new StaticQuantizationOptions(), input => input.Batches(calibrationData));

    private static QuantizationResult Static(ModelProto source, string outputPath, StaticQuantizationOptions options,
        Func<CalibrationInput, IEnumerable<(float[] Data, long[] Shape)>> batches)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        _ = Observer.Create(options); // rejects bad observer settings before any work
        if (options.MinConvDepth < 0) throw new QuantizationException($"StaticQuantizationOptions.MinConvDepth must be at least 0, got {options.MinConvDepth}.");
        var model = source.Clone();
        CheckOpset(model);
        long floatBytes = model.CalculateSize();
        var input = CalibrationInput.Of(model);
        var unknown = options.NodesToExclude.Where(n => !model.Graph.Node.Any(x => x.Name == n)).ToList();
        if (unknown.Count > 0) throw new QuantizationException($"NodesToExclude names no node of the model: {string.Join(", ", unknown)}.");
        var exclude = options.NodesToExclude.ToHashSet(StringComparer.Ordinal);
        var inits = model.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        string? Exclusion(NodeProto n) =>
            exclude.Contains(n.Name) ? "excluded by NodesToExclude"
            : QdqPlan.ConvDepth(n, inits) is { } depth && depth < options.MinConvDepth
                ? $"dot products of {depth} (input channels per group × kernel) < MinConvDepth {options.MinConvDepth}: the float convolution is faster"
                : null;
        ReluPoolSwap.Apply(model.Graph, n => QdqPlan.WhyNot(n, inits) != null || Exclusion(n) != null);
        var plan = QdqPlan.Make(model.Graph, Exclusion);
        if (plan.Anchors.Count == 0)
            throw new QuantizationException("The model has no Conv, Gemm or MatMul with a float32 initializer weight to quantize" +
                (plan.Skipped.Count > 0 ? ": " + string.Join("; ", plan.Skipped) : "."));
        var choice = QuantizationHardware.Resolve(options.Format, options.ReduceRange);

        int samples = 0;
        IEnumerable<(float[] Data, long[] Shape)> Counted()
        {
            foreach (var b in batches(input))
            {
                samples += b.Shape.Length > 0 ? (int)b.Shape[0] : 1;
                yield return b;
            }
        }
        var observers = Calibrator.Run(model, input, plan.Roots, Counted(), () => Observer.Create(options));
        var ranges = observers.ToDictionary(o => o.Key, o => o.Value.Range(), StringComparer.Ordinal);

        var quantized = plan.Anchors.Select(n => string.IsNullOrEmpty(n.Name) ? n.OpType : n.Name).ToList();
        bool signed = choice.Format == QuantizationFormat.S8S8;
        var activations = QdqRewriter.Apply(model, plan, QdqRewriter.FromRanges(plan, ranges, signed), signed,
            choice.ReduceRange, options.PerChannel, options.QuantizeBias);
        Stamp(model, "static", choice, options.Method.ToString());
        OnnxModel.Save(model, outputPath);
        return new QuantizationResult(outputPath, "static", choice, options.Method, samples, quantized, plan.Skipped, activations,
            floatBytes, new FileInfo(outputPath).Length);
    }

    private static void CheckOpset(ModelProto model)
    {
        long opset = OnnxModel.Opset(model);
        if (opset < MinOpset)
            throw new QuantizationException($"The model uses ONNX opset {opset}; quantization needs opset {MinOpset} or later (per-axis QuantizeLinear/DequantizeLinear). Re-export with a newer opset.");
        if (model.Graph.Node.Any(n => n.OpType is "QuantizeLinear" or "DequantizeLinear" or "DynamicQuantizeLinear" or "MatMulInteger" or "ConvInteger"))
            throw new QuantizationException("The model is already quantized (it has QuantizeLinear/DequantizeLinear or integer nodes).");
    }

    // Metadata that tools (and people) can read back: how the file was quantized.
    internal static void Stamp(ModelProto model, string mode, FormatChoice choice, string? method)
    {
        void Set(string k, string v)
        {
            var e = model.MetadataProps.FirstOrDefault(p => p.Key == k);
            if (e == null) model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
            else e.Value = v;
        }
        Set("quantization", mode);
        Set("quantization_format", choice.Format.ToString());
        Set("quantization_reduce_range", choice.ReduceRange ? "true" : "false");
        if (method != null) Set("quantization_calibration", method);
    }
}
