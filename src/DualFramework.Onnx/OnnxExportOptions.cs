using DualFramework.IR;

namespace DualFramework.Onnx;

/// <summary>Settings of <see cref="OnnxExporter"/>.</summary>
public sealed class OnnxExportOptions
{
    /// <summary>The lowest opset version the exporter can target.</summary>
    public const int MinOpset = 13;

    /// <summary>The highest (and default) opset version the exporter can target.</summary>
    public const int MaxOpset = 17;

    /// <summary>The default ONNX (ai.onnx domain) opset version of the model, in [<see cref="MinOpset"/>, <see cref="MaxOpset"/>] (default 17).</summary>
    public int Opset { get; set; } = MaxOpset;

    /// <summary>Written to <c>ModelProto.producer_name</c>.</summary>
    public string ProducerName { get; set; } = "DualFramework";

    /// <summary>Written to <c>ModelProto.producer_version</c>; null: the DualFramework.Onnx assembly version
    /// (<see cref="ModuleExporter"/>: the DualFramework assembly version).</summary>
    public string? ProducerVersion { get; set; }

    /// <summary>Name of the ONNX graph; null: <c>"main"</c> (<see cref="ModuleExporter"/>: the model's class name).</summary>
    public string? GraphName { get; set; }

    /// <summary>Written to <c>ModelProto.doc_string</c> when not null.</summary>
    public string? DocString { get; set; }

    /// <summary>Written to <c>ModelProto.model_version</c>.</summary>
    public long ModelVersion { get; set; } = 1;

    /// <summary>Key/value pairs written to <c>ModelProto.metadata_props</c> (in key order). <see cref="ModuleExporter"/> adds
    /// <c>framework</c>, <c>framework_version</c> and <c>model_class</c> unless they are set here.</summary>
    public IDictionary<string, string> Metadata { get; } = new SortedDictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Names the symbolic dimension (<c>dim_param</c>) of axis <c>axis</c> of a graph input listed in
    /// <see cref="Value.DynamicAxes"/>. Default: <c>"batch"</c> for axis 0 (so inputs share one batch size) and
    /// <c>"{input}_dim{axis}"</c> otherwise.
    /// </summary>
    public Func<Value, int, string> DynamicDimName { get; set; } = (v, axis) => axis == 0 ? "batch" : $"{v.Name}_dim{axis}";
}
