using DualFramework.Autodiff;
using DualFramework.Backends;
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
    /// <see cref="ITransformableLayer"/> (default: all Linear, Conv1d and Conv2d layers) gets an
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
            .Where(m => m.Module is ITransformableLayer && (options.Filter?.Invoke(m.Name, m.Module) ?? true))
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

    /// <summary>The prepared layers of <paramref name="model"/> with their names (those <see cref="Prepare"/> changed).</summary>
    public static IEnumerable<(string Name, ITransformableLayer Layer)> PreparedLayers(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (name, m) in model.NamedModules())
            if (m is ITransformableLayer { WeightTransform: WeightFakeQuantize } l)
                yield return (name, l);
    }

    /// <summary>
    /// Exports the prepared <paramref name="model"/> in evaluation mode (its frozen observer ranges) to
    /// <paramref name="path"/> as a QDQ ONNX model: each prepared layer's input passes through QuantizeLinear →
    /// DequantizeLinear with the learned scale and zero point, and its weight is stored as an int8 initializer
    /// (<c>&lt;weight&gt;_quantized</c>) read through a per-channel DequantizeLinear (axis 0). Biases stay float32.
    /// </summary>
    /// <returns>The model as written.</returns>
    /// <exception cref="QuantizationException">The model was not prepared, or a fake-quantized weight could not be found
    /// among the exported initializers (a graph pass transformed it).</exception>
    public static ModelProto Convert(Module model, Tensor sampleInput, string path, ModuleExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sampleInput);
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new ModuleExportOptions();
        if (options.WeightsDType != null)
            throw new QuantizationException("Qat.Convert stores weights as int8; ModuleExportOptions.WeightsDType must be null.");
        var weights = QuantizedWeights(model, sampleInput.Backend);
        if (weights.Count == 0) throw new QuantizationException($"{model.GetType().Name} has no QAT-prepared layer; call Qat.Prepare first.");
        var m = ModuleExporter.ToModel(model, [sampleInput], options);
        QdqWeights.Rewrite(m.Graph, weights);
        ModuleExporter.MoveToExternalData(m, path, options);
        using (var fs = File.Create(path)) m.WriteTo(fs);
        return m;
    }

    // The int8 values, scales and fake-quantized float values of every prepared weight, computed as the exported graph's
    // constant folding computes them (same ops, same backend), so the float values match the folded initializers bit for bit.
    private static List<QdqWeights.Entry> QuantizedWeights(Module model, IComputeBackend backend)
    {
        var list = new List<QdqWeights.Entry>();
        using var scope = TensorScope.Begin();
        using var noGrad = Autograd.NoGrad();
        foreach (var (name, layer) in PreparedLayers(model))
        {
            var fq = (WeightFakeQuantize)layer.WeightTransform!;
            if (layer.Weight.Spec.DType != DType.Float32)
                throw new QuantizationException($"Qat.Convert: weight '{layer.Weight.Name}' is {layer.Weight.Spec.DType.Name()}; only float32 weights are stored as int8.");
            var w = Tensor.FromBytes(layer.Weight.Value.ToBytes(), layer.Weight.Spec, backend);
            var (scale, zp) = fq.QParams(w);
            var folded = Ops.FakeQuantize(w, scale, zp, -fq.QuantMax, fq.QuantMax, axis: 0);
            var q = Ops.QuantizeLinear(w, scale, zp, axis: 0);
            list.Add(new QdqWeights.Entry(layer.Weight.Name, w.Spec, folded.ToBytes(), q.ToBytes(), scale.ToBytes()));
        }
        return list;
    }
}
