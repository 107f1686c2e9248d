namespace DualFramework.Quantization;

/// <summary>
/// Integer types of a quantized model, named as ONNX Runtime names them (activation type first, weight type second).
/// Weights are always int8 and symmetric (zero point 0); activations are asymmetric.
/// </summary>
public enum QuantizationFormat
{
    /// <summary>Choose by the CPU: S8S8, with 7-bit weights (<see cref="StaticQuantizationOptions.ReduceRange"/>) on AVX2
    /// CPUs without VNNI; see <see cref="QuantizationHardware.Choose()"/>.</summary>
    Auto,

    /// <summary>int8 activations (asymmetric, [-128, 127]) and int8 weights: ONNX Runtime's recommended default for QDQ.</summary>
    S8S8,

    /// <summary>uint8 activations (asymmetric, [0, 255]) and int8 weights, the classic x86 layout (VPMADDUBSW).</summary>
    U8S8,
}

/// <summary>How calibration turns observed activations into a range [min, max].</summary>
public enum CalibrationMethod
{
    /// <summary>Smallest and largest value over all calibration batches.</summary>
    MinMax,

    /// <summary>PyTorch's moving-average min/max: each batch moves the range by
    /// <see cref="StaticQuantizationOptions.AveragingConstant"/> of the way to that batch's min/max.</summary>
    MovingAverageMinMax,

    /// <summary>The <see cref="StaticQuantizationOptions.Percentile"/>-th percentile of a histogram (of |x| when
    /// <see cref="StaticQuantizationOptions.PercentileSymmetric"/>), clipped to the observed min/max.</summary>
    Percentile,

    /// <summary>TensorRT's entropy calibration: the |x| threshold whose 128-level quantized histogram has the least KL
    /// divergence from the clipped reference histogram.</summary>
    Entropy,
}

/// <summary>Settings of <see cref="Quantizer.QuantizeStatic(string, string, IEnumerable{float[]}, StaticQuantizationOptions?)"/>.</summary>
public sealed record StaticQuantizationOptions
{
    /// <summary>Activation/weight types (default <see cref="QuantizationFormat.Auto"/>).</summary>
    public QuantizationFormat Format { get; init; } = QuantizationFormat.Auto;

    /// <summary>7-bit weights ([-64, 64]) against the saturation of 8-bit products summed in 16 bits on AVX2 CPUs without
    /// VNNI. Null (default): as <see cref="QuantizationFormat.Auto"/> chooses (false for explicit formats).</summary>
    public bool? ReduceRange { get; init; }

    /// <summary>Range estimator of the activations (default <see cref="CalibrationMethod.MinMax"/>).</summary>
    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;

    /// <summary>Percentile kept by <see cref="CalibrationMethod.Percentile"/>, in (0, 100] (default 99.99).</summary>
    public double Percentile { get; init; } = 99.99;

    /// <summary>Percentile of |x| giving [-t, t] (default, as ONNX Runtime) rather than two one-sided percentiles of x.</summary>
    public bool PercentileSymmetric { get; init; } = true;

    /// <summary>Averaging constant of <see cref="CalibrationMethod.MovingAverageMinMax"/> (default 0.01, PyTorch's).</summary>
    public double AveragingConstant { get; init; } = 0.01;

    /// <summary>Histogram bins per sign for Percentile and Entropy (default 4096: after range doubling at least 2048,
    /// TensorRT's count, cover the data).</summary>
    public int HistogramBins { get; init; } = 4096;

    /// <summary>Samples per calibration run of ONNX Runtime when samples are given one by one (default 32); the model's
    /// batch axis must be symbolic for more than 1.</summary>
    public int CalibrationBatchSize { get; init; } = 32;

    /// <summary>One weight scale per output channel (default true) rather than one per tensor.</summary>
    public bool PerChannel { get; init; } = true;

    /// <summary>Store biases of quantized Conv/Gemm as int32 with scale input_scale·weight_scale (default true), as ONNX
    /// Runtime does; false keeps them float32.</summary>
    public bool QuantizeBias { get; init; } = true;

    /// <summary>Convolutions whose dot products are shorter than this — input channels per group × kernel elements, e.g. 9
    /// for a 3×3 convolution of a grey image — stay float32 (default 16; 0 quantizes every convolution). ONNX Runtime's
    /// int8 convolution is slower than its float one there (the sample CNN's 1→32 3×3 layer at batch 64: 968 µs against
    /// 224 µs), and such a layer's weights are a negligible share of the file.</summary>
    public int MinConvDepth { get; init; } = 16;

    /// <summary>Names of Conv/Gemm/MatMul nodes to leave float (ONNX Runtime's <c>nodes_to_exclude</c>); a name the model
    /// lacks is an error.</summary>
    public IReadOnlyCollection<string> NodesToExclude { get; init; } = [];
}

/// <summary>Settings of <see cref="Quantizer.QuantizeDynamic(string, string, DynamicQuantizationOptions?)"/>.</summary>
public sealed record DynamicQuantizationOptions
{
    /// <summary>One weight scale per output column (default true).</summary>
    public bool PerChannel { get; init; } = true;

    /// <summary>7-bit weights (default false); see <see cref="StaticQuantizationOptions.ReduceRange"/>.</summary>
    public bool ReduceRange { get; init; }
}
