using DualFramework.Backends;

namespace DualFramework.Onnx;

/// <summary>Options of <see cref="OnnxImporter"/>: resource limits for untrusted files and how initializers are exposed.</summary>
public sealed class OnnxImportOptions
{
    /// <summary>Largest model file (or byte array) accepted, in bytes; default 2 GiB (the protobuf limit).</summary>
    public long MaxModelBytes { get; init; } = int.MaxValue;

    /// <summary>Largest element count of any one tensor (initializer, constant or input); checked before allocating.</summary>
    public long MaxTensorElements { get; init; } = 1L << 30;

    /// <summary>
    /// When true, every float initializer becomes a trainable <see cref="NN.Variable"/> (see
    /// <see cref="ImportedModel.Parameters"/>) and a graph input after the model's own inputs, instead of a constant.
    /// </summary>
    public bool TrainableInitializers { get; init; }

    /// <summary>Size given to symbolic input dimensions (<c>dim_param</c>, e.g. a batch axis); default 1.</summary>
    public long SymbolicDimSize { get; init; } = 1;

    /// <summary>Backend <see cref="ImportedModel.Run(Tensor[])"/> uses; null means <see cref="BackendRegistry.Default"/>.</summary>
    public IComputeBackend? Backend { get; init; }
}
