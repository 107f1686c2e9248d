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
    /// When true, every initializer is a graph constant and the model has no state (an inference-only import that lets the
    /// backend fold and pre-pack weights). By default (false) every float initializer becomes a <see cref="NN.Variable"/>
    /// of the <see cref="ImportedModel"/>'s state dict, under its ONNX name, and a graph input after the model's own
    /// inputs; float initializers that the graph needs as constants (a shape, a Dropout ratio, Clip bounds, ...) and
    /// non-float initializers stay constants.
    /// </summary>
    public bool InitializersAsConstants { get; init; }

    /// <summary>
    /// Which float initializers (by ONNX name) are trainable parameters; the others are frozen parameters (in the state
    /// dict, no gradient; see <see cref="NN.Module.Unfreeze"/>). Null (the default) makes all of them trainable. The
    /// running mean and variance of BatchNormalization nodes are never trainable: they are buffers.
    /// </summary>
    public Func<string, bool>? Trainable { get; init; }

    /// <summary>
    /// Weight of the new batch in the running-statistics update of BatchNormalization nodes in training mode (PyTorch's
    /// convention, e.g. 0.1); null (the default) uses each node's ONNX <c>momentum</c> attribute m as 1 − m. Pretrained
    /// exports often carry a momentum close to 1 (CNTK's ResNet18: 0.988), which a short fine-tuning run barely moves.
    /// </summary>
    public double? BatchNormMomentum { get; init; }

    /// <summary>Seed of the <see cref="ImportedModel.Generator"/> that draws the masks of Dropout nodes in training mode.</summary>
    public ulong DropoutSeed { get; init; }

    /// <summary>Size given to symbolic input dimensions (<c>dim_param</c>, e.g. a batch axis) in <see cref="ImportedModel.InputSpecs"/>
    /// and in the graphs built per input shape when <see cref="SymbolicDims"/> is off or cannot apply; default 1.</summary>
    public long SymbolicDimSize { get; init; } = 1;

    /// <summary>
    /// Keep open input dims (<c>dim_param</c>s and unnamed ones) symbolic (the default): one graph, compiled once per
    /// backend, serves every size of them; dims with the same name are one symbol. The importer builds the graph at a few
    /// sample sizes and recovers how each shape and size attribute depends on the symbols (<see cref="IR.SymbolicGraphs"/>);
    /// a model whose graph does not generalise (its structure or constants change with the sizes) falls back to one graph
    /// per input shape, and <see cref="ImportedModel.SymbolicFallbackReason"/> says why. False: always one graph per shape.
    /// </summary>
    public bool SymbolicDims { get; init; } = true;

    /// <summary>Backend <see cref="ImportedModel.Run(Tensor[])"/> uses and the state variables are created on; null means
    /// <see cref="BackendRegistry.Default"/>.</summary>
    public IComputeBackend? Backend { get; init; }
}
