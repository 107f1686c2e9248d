namespace DualFramework.Onnx;

/// <summary>Settings of <see cref="ModuleExporter"/>: what tracing a module needs, plus the <see cref="OnnxExportOptions"/> of the model.</summary>
public sealed record ModuleExportOptions
{
    /// <summary>
    /// Names of the ONNX graph inputs, one per sample input. Default: <c>"input"</c> for a single input,
    /// <c>"input0"</c>, <c>"input1"</c>, … otherwise.
    /// </summary>
    public IReadOnlyList<string>? InputNames { get; init; }

    /// <summary>
    /// Names of the ONNX graph outputs, one per forward result. Default: <c>"output"</c> for a single result,
    /// <c>"output0"</c>, <c>"output1"</c>, … otherwise.
    /// </summary>
    public IReadOnlyList<string>? OutputNames { get; init; }

    /// <summary>Marks axis 0 of every input of rank ≥ 1 as a symbolic batch dimension (default true). The graph is traced
    /// with that axis symbolic (<see cref="IR.InputSignature.SymbolicBatch"/>), so every size that follows the batch
    /// (reshape targets, a mean's count) is computed in the model; when the forward cannot be generalised, only the inputs'
    /// leading dims are declared open, as before.</summary>
    public bool DynamicBatch { get; init; } = true;

    /// <summary>Open dims of the inputs (overrides <see cref="DynamicBatch"/>): each becomes a <c>dim_param</c> named after its
    /// symbol (<c>arg0.1</c> for an unnamed one) and the model computes every size that depends on them, e.g.
    /// <c>InputSignature.Of(new TensorSignature(DType.Int64, "batch", "sequence"))</c> for a text model. Null: see
    /// <see cref="DynamicBatch"/>.</summary>
    public IR.InputSignature? InputSignature { get; init; }

    /// <summary>
    /// Custom forward for modules whose forward is not <c>Module.Call(Tensor)</c> (several inputs or results): receives the
    /// inputs, returns the results. Null: <c>model.Call(inputs[0])</c> (exactly one input required).
    /// </summary>
    public Func<Tensor[], Tensor[]>? Forward { get; init; }

    /// <summary>Runs the inference passes (constant folding, Conv+BatchNorm folding, CSE, linear fusion) before lowering (default true).</summary>
    public bool Optimize { get; init; } = true;

    /// <summary>
    /// Storage type of the floating-point weights (initializers). Null (default): as traced. <see cref="DType.Float16"/>:
    /// every float32 initializer of at least <see cref="ModuleExporter.Float16MinElements"/> elements is stored as ONNX
    /// FLOAT16 (rounded to nearest even) and read through a <c>Cast</c> to float32, so the model still computes in float32
    /// (ONNX Runtime folds the casts when it loads the model) and only the file shrinks, to about half. Kept as they are:
    /// float64, bfloat16 and integer initializers, smaller float32 ones (scalars and short vectors the lowerings need; a
    /// cast would cost more bytes than it saves), and any float32 initializer holding a finite value outside float16's
    /// range (|x| ≥ 65520 rounds to infinity), which stays float32 whole rather than saturating. The name is a dtype, not a
    /// flag, so that other storage types can be added; other values are rejected. See <c>docs/precision.md ("Float16 export")</c>.
    /// </summary>
    public DType? WeightsDType { get; init; }

    /// <summary>
    /// Element type of the model's float32 inputs and outputs. Null (default): as traced (float32).
    /// <see cref="DType.Float16"/>: those inputs and outputs are declared FLOAT16 and cast to and from float32 at the
    /// graph's edges (the compute stays float32), for callers that hold half-precision data; outputs are rounded to
    /// float16 and saturate to ±infinity beyond its range. Inputs and outputs of other dtypes are unchanged.
    /// </summary>
    public DType? InputOutputDType { get; init; }

    /// <summary>
    /// The model-level settings, as for <see cref="OnnxExporter"/> (opset, producer, graph name, doc string, model version,
    /// metadata, names of symbolic dimensions); set them in place: <c>new ModuleExportOptions { Onnx = { Opset = 13 } }</c>.
    /// Defaults differ in three places: the graph is named after the model's class, the producer version is the
    /// DualFramework version, and the metadata gains <c>framework</c>, <c>framework_version</c> and <c>model_class</c> unless
    /// set here. A <c>with</c> copy shares this object.
    /// </summary>
    public OnnxExportOptions Onnx { get; init; } = new();

    /// <summary>
    /// External data: when set, every initializer of at least this many bytes is written to the side file
    /// (<see cref="ExternalDataFileName"/>) instead of the .onnx. Null (default): only when the inline model would exceed
    /// protobuf's 2 GiB limit, and then for initializers of at least <see cref="ModuleExporter.DefaultExternalThreshold"/> bytes.
    /// </summary>
    public long? ExternalDataThreshold { get; init; }

    /// <summary>Name of the external data file, relative to the .onnx file's folder. Null: the model's file name plus <c>".data"</c>.</summary>
    public string? ExternalDataFileName { get; init; }
}
