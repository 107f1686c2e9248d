using DualFramework.Onnx.Proto;
using DataType = DualFramework.Onnx.Proto.TensorProto.Types.DataType;

namespace DualFramework.Quantization;

/// <summary>
/// The model's one float32 input and the calibration batches for it, checked before anything runs: non-empty, the
/// input's shape (a symbolic batch axis takes any size), float32, finite.
/// </summary>
internal sealed class CalibrationInput
{
    private CalibrationInput(string name, long?[] dims)
    {
        Name = name;
        Dims = dims;
    }

    /// <summary>Name of the graph input.</summary>
    public string Name { get; }

    /// <summary>The input's dims; null where symbolic.</summary>
    public long?[] Dims { get; }

    /// <summary>Elements of one sample (the dims after the batch axis; all must be static).</summary>
    public long SampleSize => Dims.Skip(1).Aggregate(1L, (a, d) => a * (d ?? throw new QuantizationException(
        $"Input '{Name}' has a symbolic dimension after the batch axis; pass calibration data as Tensors of the full shape.")));

    /// <summary>The single non-initializer input of <paramref name="model"/>.</summary>
    public static CalibrationInput Of(ModelProto model)
    {
        var inits = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = model.Graph.Input.Where(i => !inits.Contains(i.Name)).ToList();
        if (inputs.Count != 1)
            throw new QuantizationException($"Static quantization calibrates models with one input; this model has {inputs.Count} ({string.Join(", ", inputs.Select(i => i.Name))}).");
        var input = inputs[0];
        var tt = input.Type?.TensorType;
        if (tt == null || tt.ElemType != (int)DataType.Float)
            throw new QuantizationException($"Input '{input.Name}' is not a float32 tensor; only float32 models are quantized.");
        var dims = tt.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : (long?)null).ToArray()
            ?? throw new QuantizationException($"Input '{input.Name}' has no shape.");
        return new CalibrationInput(input.Name, dims);
    }

    /// <summary>Samples given one by one, grouped into batches of <paramref name="batchSize"/> (fewer when the batch axis is static).</summary>
    public IEnumerable<(float[] Data, long[] Shape)> Batch(IEnumerable<float[]> samples, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The calibration batch size must be ≥ 1.");
        if (Dims.Length == 0) throw new QuantizationException($"Input '{Name}' is a scalar; pass calibration data as Tensors.");
        long size = SampleSize;
        int per = Dims[0] is { } fixedBatch ? (int)fixedBatch : batchSize;
        var buffer = new List<float>();
        int count = 0, index = 0;
        foreach (var s in samples)
        {
            if (s == null) throw new QuantizationException($"Calibration sample {index} is null.");
            if (s.Length != size)
                throw new QuantizationException($"Calibration sample {index} has {s.Length} values; input '{Name}' takes {size} per sample (shape {ShapeText()}).");
            CheckFinite(s, $"calibration sample {index}");
            buffer.AddRange(s);
            index++;
            if (++count == per)
            {
                yield return (buffer.ToArray(), Shape(count));
                buffer.Clear();
                count = 0;
            }
        }
        if (count > 0)
        {
            if (Dims[0] is { } b && count != b)
                throw new QuantizationException($"Input '{Name}' has a static batch of {b}; the last {count} calibration samples do not fill one.");
            yield return (buffer.ToArray(), Shape(count));
        }
        if (index == 0) throw new QuantizationException("The calibration set is empty; static quantization needs representative inputs (100–500 samples).");
    }

    /// <summary>Tensors given as batches: checks dtype, rank and static dims.</summary>
    public IEnumerable<(float[] Data, long[] Shape)> Batches(IEnumerable<Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        int index = 0;
        foreach (var t in tensors)
        {
            if (t == null) throw new QuantizationException($"Calibration tensor {index} is null.");
            if (t.DType != DType.Float32)
                throw new QuantizationException($"Calibration tensor {index} is {t.DType.Name()}; input '{Name}' takes float32.");
            var shape = t.Shape.ToArray();
            bool fits = shape.Length == Dims.Length && shape.Zip(Dims).All(p => p.Second is not { } d || p.First == d);
            if (!fits)
                throw new QuantizationException($"Calibration tensor {index} has shape [{string.Join(", ", shape)}]; input '{Name}' takes {ShapeText()}.");
            var data = t.ToFloatArray();
            CheckFinite(data, $"calibration tensor {index}");
            index++;
            yield return (data, shape);
        }
        if (index == 0) throw new QuantizationException("The calibration set is empty; static quantization needs representative inputs (100–500 samples).");
    }

    private long[] Shape(int batch) => [batch, .. Dims.Skip(1).Select(d => d!.Value)];

    private string ShapeText() => "[" + string.Join(", ", Dims.Select(d => d?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?")) + "]";

    private static void CheckFinite(float[] data, string what)
    {
        for (int i = 0; i < data.Length; i++)
            if (!float.IsFinite(data[i]))
                throw new QuantizationException(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"The {what} holds {data[i]} at element {i}; calibration data must be finite."));
    }
}
