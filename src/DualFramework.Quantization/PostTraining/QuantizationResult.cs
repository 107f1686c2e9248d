using System.Globalization;

namespace DualFramework.Quantization;

/// <summary>What a quantizer did.</summary>
/// <param name="OutputPath">The quantized model file.</param>
/// <param name="Mode">"static" or "dynamic".</param>
/// <param name="Choice">The format taken and why (for <see cref="QuantizationFormat.Auto"/>, the CPU feature that decided).</param>
/// <param name="Method">Calibration method (static only).</param>
/// <param name="CalibrationSamples">Samples calibrated on (static only; batch rows).</param>
/// <param name="QuantizedNodes">Names of the nodes now computed from int8 weights.</param>
/// <param name="FloatNodes">Conv/Gemm/MatMul nodes left float, with the reason.</param>
/// <param name="Activations">Parameters of every quantized activation (static only).</param>
/// <param name="FloatBytes">Size of the float model (serialised, all data inline).</param>
/// <param name="QuantizedBytes">Size of the quantized file.</param>
public sealed record QuantizationResult(
    string OutputPath,
    string Mode,
    FormatChoice Choice,
    CalibrationMethod? Method,
    int CalibrationSamples,
    IReadOnlyList<string> QuantizedNodes,
    IReadOnlyList<string> FloatNodes,
    IReadOnlyList<ActivationParams> Activations,
    long FloatBytes,
    long QuantizedBytes)
{
    /// <summary>Quantized size over float size.</summary>
    public double SizeRatio => (double)QuantizedBytes / FloatBytes;

    /// <summary>One plain line: mode, format and why, calibration, nodes, sizes.</summary>
    public string Summary
    {
        get
        {
            var ci = CultureInfo.InvariantCulture;
            string calibration = Method is { } m ? string.Create(ci, $"{m} calibration on {CalibrationSamples} samples") : "activations quantized at run time";
            return string.Create(ci, $"{Mode} int8 quantization: {Choice.Reason}; {calibration}; {QuantizedNodes.Count} nodes quantized, {FloatNodes.Count} left float; {FloatBytes} → {QuantizedBytes} bytes ({SizeRatio:P1})");
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Summary;
}
