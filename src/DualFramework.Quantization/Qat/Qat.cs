using DualFramework.Autodiff;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using Google.Protobuf;

namespace DualFramework.Quantization.Qat;

/// <summary>
/// Quantization-aware training (QAT): <see cref="Prepare"/> inserts fake quantization on the weights and inputs of the
/// model's Linear/Conv layers, the model is fine-tuned as usual (<c>Trainer.Fit</c>, either backend), and
/// <see cref="Convert"/> exports it as an ONNX QDQ model with int8 weights. See <c>docs/quantization.md ("Quantization-aware training")</c>.
/// </summary>
/// <remarks>Named <c>Qat</c> rather than the issue's <c>Quantization.PrepareQat</c>: a class <c>Quantization</c> inside the
/// namespace <c>DualFramework.Quantization</c> would shadow the namespace in every file that imports it.</remarks>
public static class Qat
{
    /// <summary>
    /// Prepares <paramref name="model"/> in place for quantization-aware training: every selected
    /// <see cref="ITransformableLayer"/> (default: all Linear, Conv1d and Conv2d layers, except convolutions shallower than
    /// <see cref="QatOptions.MinConvDepth"/>) gets an
    /// <see cref="ActivationFakeQuantize"/> on its input and a <see cref="WeightFakeQuantize"/> on its weight. Variable
    /// names stay as they were (<c>0.weight</c>…); the observers add buffers <c>&lt;layer&gt;.input_transform.min_val</c>
    /// and <c>max_val</c>. Load float checkpoints before preparing (or non-strictly after), and create the trainer
    /// (<c>Trainer.Compile</c>) after preparing so compiled steps carry the observer buffers.
    /// </summary>
    /// <returns>The dotted names of the prepared layers, in module order.</returns>
    /// <exception cref="QuantizationException">No layer was selected, or a selected layer already has transforms.</exception>
    public static IReadOnlyList<string> Prepare(Module model, QatOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new QatOptions();
        options.Validate();
        // Materialised first: attaching transforms adds children to the modules being enumerated.
        var layers = model.NamedModules()
            .Where(m => m.Module is ITransformableLayer l && !Shallow(l, options.MinConvDepth) && (options.Filter?.Invoke(m.Name, m.Module) ?? true))
            .ToList();
        if (layers.Count == 0) throw new QuantizationException($"{model.GetType().Name} has no Linear or Conv layer to prepare for QAT.");
        foreach (var (name, m) in layers)
        {
            var layer = (ITransformableLayer)m;
            if (layer.InputTransform != null || layer.WeightTransform != null)
                throw new QuantizationException($"Layer '{name}' ({m.GetType().Name}) already has transforms; was the model prepared twice?");
            layer.SetTransforms(new ActivationFakeQuantize(options), new WeightFakeQuantize(options));
        }
        return layers.Select(l => l.Name).ToList();
    }

    // A convolution (weight rank ≥ 3: out × in/groups × kernel) whose dot products are shorter than minDepth.
    private static bool Shallow(ITransformableLayer layer, int minDepth) =>
        QdqPlan.ConvDepth(layer.Weight.Spec.Shape.ToArray()) is { } depth && depth < minDepth;

    /// <summary>The prepared layers of <paramref name="model"/> with their names (those <see cref="Prepare"/> changed).</summary>
    public static IEnumerable<(string Name, ITransformableLayer Layer)> PreparedLayers(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (name, m) in model.NamedModules())
            if (m is ITransformableLayer { WeightTransform: WeightFakeQuantize } l)
                yield return (name, l);
    }

    /// <summary>
    /// Exports the prepared <paramref name="model"/> in evaluation mode to <paramref name="path"/> as the same QDQ ONNX model
    /// that post-training static quantization writes (<see cref="Quantizer.QuantizeStatic(string, string, IEnumerable{float[]}, StaticQuantizationOptions?)"/>),
    /// with the learned parameters in place of calibrated ones: the float graph is exported with the fake quantization
    /// bypassed, then each prepared layer's weight becomes int8 per output channel behind a DequantizeLinear (the values
    /// the layer trained with), its bias int32, its input a QuantizeLinear→DequantizeLinear pair with the scale and zero
    /// point of its input observer; a Conv/Linear output (or the output of the Relu that alone reads it) that another
    /// prepared layer reads, directly or through MaxPool/Flatten/Reshape/Transpose/Squeeze/Unsqueeze, gets that layer's
    /// input parameters (quantizing before those monotone layout ops gives the same values) so ONNX Runtime fuses
    /// Conv/Gemm, Relu and the requantization into one integer kernel. Outputs read by no prepared layer stay float.
    /// </summary>
    /// <returns>The model as written (its metadata: <c>quantization = qat</c>, the format and weight range).</returns>
    /// <exception cref="QuantizationException">The model was not prepared; the prepared layers disagree on the quantized
    /// ranges, or use ranges ONNX QuantizeLinear cannot express (activations other than the full int8 or uint8 range,
    /// weights other than [−127, 127] or the reduced [−64, 64]); or a prepared weight is not among the exported
    /// initializers (a graph pass transformed it, e.g. Conv+BatchNorm folding: fold batch norms before preparing).</exception>
    public static ModelProto Convert(Module model, Tensor sampleInput, string path, ModuleExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sampleInput);
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new ModuleExportOptions();
        if (options.WeightsDType != null)
            throw new QuantizationException("Qat.Convert stores weights as int8; ModuleExportOptions.WeightsDType must be null.");
        var layers = PreparedLayers(model).ToList();
        if (layers.Count == 0) throw new QuantizationException($"{model.GetType().Name} has no QAT-prepared layer; call Qat.Prepare first.");
        var (signed, reduceRange) = Format(layers);
        var inputs = layers.Select(l => InputParams(l.Name, (ActivationFakeQuantize)l.Layer.InputTransform!)).ToList();

        var m = ExportFloat(model, sampleInput, options, layers);
        var g = m.Graph;
        var inits = g.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var layerOfWeight = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < layers.Count; i++)
            layerOfWeight[FindWeight(g, layers[i].Name, layers[i].Layer.Weight, layerOfWeight.Keys)] = i;

        bool Prepared(NodeProto n) => n.Input.Count > 1 && layerOfWeight.ContainsKey(n.Input[1]);
        ReluPoolSwap.Apply(g, n => !Prepared(n) || QdqPlan.WhyNot(n, inits) != null);
        var plan = QdqPlan.Make(g, n => Prepared(n) ? null : "not a prepared layer");
        var missing = layerOfWeight.Where(p => !plan.Anchors.Any(a => a.Input[1] == p.Key)).Select(p => layers[p.Value].Name).ToList();
        if (missing.Count > 0)
            throw new QuantizationException($"Qat.Convert: the prepared layer(s) {string.Join(", ", missing)} did not export as a Conv, Gemm or MatMul reading its weight: {string.Join("; ", plan.Skipped)}");

        // Each root takes the input parameters of the prepared layers that read it (through layout ops); none: float.
        var readers = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        foreach (var a in plan.Anchors)
            if (plan.RootOf(a.Input[0]) is { } root)
            {
                if (!readers.TryGetValue(root, out var list)) readers[root] = list = [];
                list.Add(layerOfWeight[a.Input[1]]);
            }
        var roots = new Dictionary<string, ActivationParams>(StringComparer.Ordinal);
        foreach (var root in plan.Roots.ToList())
        {
            if (!readers.TryGetValue(root, out var ls))
            {
                plan.Unquantize(root);
                continue;
            }
            var first = inputs[ls[0]];
            if (ls.Any(l => inputs[l].Scale != first.Scale || inputs[l].ZeroPoint != first.ZeroPoint))
                throw new QuantizationException($"Qat.Convert: tensor '{root}' feeds prepared layers with different input quantization ({string.Join(", ", ls.Select(l => $"{layers[l].Name}: scale {inputs[l].Scale:G6}, zero point {inputs[l].ZeroPoint}"))}); one QDQ pair cannot express both.");
            roots[root] = first with { Tensor = root };
        }

        QdqRewriter.Apply(m, plan, roots, signed, reduceRange, perChannel: true, quantizeBias: true);
        Quantizer.Stamp(m, "qat", new FormatChoice(signed ? QuantizationFormat.S8S8 : QuantizationFormat.U8S8, reduceRange, "from QatOptions"), null);
        ModuleExporter.MoveToExternalData(m, path, options);
        OnnxModel.Save(m, path);
        return m;
    }

    // The float graph: every fake quantization passes its input through while the model is traced.
    private static ModelProto ExportFloat(Module model, Tensor sampleInput, ModuleExportOptions options, List<(string Name, ITransformableLayer Layer)> layers)
    {
        void Bypass(bool on)
        {
            foreach (var (_, l) in layers)
            {
                ((ActivationFakeQuantize)l.InputTransform!).Bypassed = on;
                ((WeightFakeQuantize)l.WeightTransform!).Bypassed = on;
            }
        }
        Bypass(true);
        try
        {
            return ModuleExporter.ToModel(model, [sampleInput], options);
        }
        finally
        {
            Bypass(false);
        }
    }

    // The exported initializer holding the layer's weight: by the variable's name, else by content (a pass renamed it).
    private static string FindWeight(GraphProto g, string layer, Variable weight, IEnumerable<string> taken)
    {
        var bytes = weight.Value.ToBytes();
        var dims = weight.Spec.Shape.ToArray();
        bool Same(TensorProto t) => t.DataType == (int)TensorProto.Types.DataType.Float && t.Dims.SequenceEqual(dims) && t.RawData.Span.SequenceEqual(bytes);
        var used = taken.ToHashSet(StringComparer.Ordinal);
        var init = g.Initializer.FirstOrDefault(t => t.Name == weight.Name && Same(t)) ?? g.Initializer.FirstOrDefault(t => !used.Contains(t.Name) && Same(t))
            ?? throw new QuantizationException($"Qat.Convert: the weight '{weight.Name}' {weight.Spec} of prepared layer '{layer}' is not among the exported initializers (a graph pass transformed it; Conv+BatchNorm folding does: fold batch norms before Qat.Prepare).");
        return init.Name;
    }

    // The learned input parameters of a layer (evaluation mode: frozen).
    private static ActivationParams InputParams(string layer, ActivationFakeQuantize fq)
    {
        using var scope = TensorScope.Begin();
        using var noGrad = Autograd.NoGrad();
        var (scale, zp) = fq.QParams();
        float s = (float)scale.Item(), lo = fq.MinVal.Value.Item() is var a && double.IsFinite(a) ? (float)a : 0f, hi = fq.MaxVal.Value.Item() is var b && double.IsFinite(b) ? (float)b : 0f;
        return new ActivationParams(layer, lo, hi, s, (int)zp.Item(), null);
    }

    // Activations: the full int8 or uint8 range (QuantizeLinear saturates to the storage type's range); weights: 8 or 7 bits.
    private static (bool Signed, bool ReduceRange) Format(List<(string Name, ITransformableLayer Layer)> layers)
    {
        var acts = layers.Select(l => (ActivationFakeQuantize)l.Layer.InputTransform!).Select(a => (a.QuantMin, a.QuantMax)).Distinct().ToList();
        var weights = layers.Select(l => ((WeightFakeQuantize)l.Layer.WeightTransform!).QuantMax).Distinct().ToList();
        if (acts.Count != 1 || weights.Count != 1)
            throw new QuantizationException("Qat.Convert: the prepared layers use different quantized ranges; prepare the model with one QatOptions.");
        bool signed = acts[0] switch
        {
            (-128, 127) => true,
            (0, 255) => false,
            var (lo, hi) => throw new QuantizationException($"Qat.Convert: activations quantized to [{lo}, {hi}] cannot be written as ONNX QuantizeLinear, which saturates to the full int8 [-128, 127] or uint8 [0, 255] range."),
        };
        bool reduce = weights[0] switch
        {
            127 => false,
            64 => true,
            var w => throw new QuantizationException($"Qat.Convert: weights quantized to [-{w}, {w}]; the QDQ form takes [-127, 127] or the reduced range [-64, 64] (QatOptions.WeightQuantMax 127 or 64)."),
        };
        return (signed, reduce);
    }
}
