using DualFramework.Onnx.Proto;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using DataType = DualFramework.Onnx.Proto.TensorProto.Types.DataType;

namespace DualFramework.Quantization;

/// <summary>
/// Runs the float model in ONNX Runtime over the calibration batches with the tensors to observe added as graph outputs,
/// feeding each tensor's values to its own observer.
/// </summary>
internal static class Calibrator
{
    /// <summary>One observer per name of <paramref name="tensors"/>, fed with every batch.</summary>
    public static Dictionary<string, Observer> Run(ModelProto model, CalibrationInput input, IReadOnlyCollection<string> tensors,
        IEnumerable<(float[] Data, long[] Shape)> batches, Func<Observer> observer)
    {
        var observers = tensors.Distinct(StringComparer.Ordinal).ToDictionary(t => t, _ => observer(), StringComparer.Ordinal);
        var fetch = observers.Keys.Where(t => t != input.Name).ToList();
        var augmented = model.Clone();
        var outputs = augmented.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in fetch.Where(n => !outputs.Contains(n)))
            augmented.Graph.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float } } });

        // Basic optimisations only: fusions never remove a graph output, and no kernel changes the float values observed.
        using var options = new SessionOptions
        {
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC,
        };
        using var session = CreateSession(augmented.ToByteArray(), options);
        using var run = new RunOptions();
        int batchIndex = 0;
        foreach (var (data, shape) in batches)
        {
            if (observers.TryGetValue(input.Name, out var inObs)) Observe(inObs, data, input.Name, batchIndex);
            if (fetch.Count > 0)
            {
                using var value = OrtValue.CreateTensorValueFromMemory(data, shape);
                IDisposableReadOnlyCollection<OrtValue> results;
                try
                {
                    results = session.Run(run, [input.Name], [value], fetch);
                }
                catch (OnnxRuntimeException e)
                {
                    throw new QuantizationException($"ONNX Runtime failed on calibration batch {batchIndex} (shape [{string.Join(", ", shape)}]): {e.Message}", e);
                }
                using (results)
                    for (int k = 0; k < fetch.Count; k++)
                        Observe(observers[fetch[k]], results.ElementAt(k).GetTensorDataAsSpan<float>(), fetch[k], batchIndex);
            }
            batchIndex++;
        }
        return observers;
    }

    private static InferenceSession CreateSession(byte[] model, SessionOptions options)
    {
        try
        {
            return new InferenceSession(model, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new QuantizationException($"ONNX Runtime cannot load the float model for calibration: {e.Message}", e);
        }
    }

    private static void Observe(Observer o, ReadOnlySpan<float> values, string tensor, int batch)
    {
        try
        {
            o.Observe(values);
        }
        catch (QuantizationException e)
        {
            throw new QuantizationException($"Tensor '{tensor}' on calibration batch {batch}: {e.Message}", e);
        }
    }
}
