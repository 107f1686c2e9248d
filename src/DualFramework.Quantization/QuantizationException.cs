namespace DualFramework.Quantization;

/// <summary>A quantization or pruning request that cannot be carried out (bad calibration data, unsupported model, bad
/// settings); the message names the layer, tensor or setting at fault.</summary>
public sealed class QuantizationException(string message, Exception? inner = null) : Exception(message, inner);
