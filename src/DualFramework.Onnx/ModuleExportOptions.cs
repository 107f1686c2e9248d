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

    /// <summary>Marks axis 0 of every input of rank ≥ 1 as a symbolic batch dimension (default true).</summary>
    public bool DynamicBatch { get; init; } = true;

    /// <summary>
    /// Custom forward for modules whose forward is not <c>Module.Call(Tensor)</c> (several inputs or results): receives the
    /// inputs, returns the results. Null: <c>model.Call(inputs[0])</c> (exactly one input required).
    /// </summary>
    public Func<Tensor[], Tensor[]>? Forward { get; init; }

    /// <summary>Runs the inference passes (constant folding, Conv+BatchNorm folding, CSE, linear fusion) before lowering (default true).</summary>
    public bool Optimize { get; init; } = true;

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
