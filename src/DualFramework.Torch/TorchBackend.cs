using DualFramework.Backends;
using DualFramework.MixedPrecision;
using DualFramework.Operators;
using DualFramework.Torch;
using DualFramework.Torch.Native;
using TorchSharp;
using TT = TorchSharp.torch.Tensor;

[assembly: BackendProvider("torch", typeof(TorchBackend))]

namespace DualFramework.Torch;

/// <summary>
/// The eager backend: every op runs at once as a libtorch kernel through TorchSharp; gradients come from libtorch autograd.
/// Handles are <see cref="TorchSharp.torch.Tensor"/> objects owned by their <see cref="Tensor"/>.
/// </summary>
public sealed partial class TorchBackend : IComputeBackend, ILowPrecisionKernels
{
    private readonly KernelTable _kernels;

    /// <summary>Creates the backend on the CPU (loading the native libraries first).</summary>
    public TorchBackend() : this(Device.Cpu) { }

    /// <summary>Creates the backend on <paramref name="device"/>.</summary>
    public TorchBackend(Device device)
    {
        TorchNativeLoader.EnsureLoaded();
        AllocatorTuning.Apply();
        OneDnnConvolutionCheck.Apply();
        if (ThreadBudget.IsConstrained) torch.set_num_threads(ThreadBudget.PerProcess);
        Device = device;
        TorchDevice = device.Type == DeviceType.Cpu ? torch.CPU : torch.CUDA;
        _kernels = new KernelTable(this);
        ConvKernels.Register(_kernels);
        CreationKernels.Register(_kernels);
        ElementwiseKernels.Register(_kernels);
        LinalgKernels.Register(_kernels);
        LossKernels.Register(_kernels);
        MathKernels.Register(_kernels);
        NormKernels.Register(_kernels);
        OneHotKernels.Register(_kernels);
        PadKernels.Register(_kernels);
        TopKKernels.Register(_kernels);
        GridSampleKernels.Register(_kernels);
        RecurrentKernels.Register(_kernels);
        OptimKernels.Register(_kernels);
        PoolKernels.Register(_kernels);
        QuantizeKernels.Register(_kernels);
        RandomKernels.Register(_kernels);
        ReductionsKernels.Register(_kernels);
        ScatterKernels.Register(_kernels);
        ShapeKernels.Register(_kernels);
        SoftmaxKernels.Register(_kernels);
        TakeKernels.Register(_kernels);
        NativeAutograd = new TorchAutograd();
        // libtorch's switches are process-wide: one subscription for the process, whatever the number of backends.
        if (Interlocked.Exchange(ref s_followsDeterminism, 1) == 0)
        {
            Determinism.Changed += ApplyDeterminism;
            if (Determinism.IsEnabled) ApplyDeterminism(true);
        }
    }

    private static int s_followsDeterminism;

    // On platforms whose libtorch does not export the switches the mode still holds for what DualFramework controls
    // (seeds), and IsDeterministic says so.
    private static void ApplyDeterminism(bool on)
    {
        if (LibTorchContext.IsAvailable) LibTorchContext.SetDeterministic(on);
    }

    /// <summary>True when libtorch itself runs in deterministic mode (see <see cref="Determinism"/>).</summary>
    public static bool IsDeterministic => LibTorchContext.IsAvailable && LibTorchContext.DeterministicAlgorithms();

    /// <inheritdoc />
    public string Name => "torch";

    /// <inheritdoc />
    public Device Device { get; }

    internal torch.Device TorchDevice { get; }

    /// <inheritdoc />
    public INativeAutograd? NativeAutograd { get; }

    /// <inheritdoc />
    public bool Supports(Op op) => _kernels.Has(op);

    /// <inheritdoc />
    public object Execute(Op op, OpAttrs attrs, ReadOnlySpan<Tensor> inputs, TensorSpec[] outputs) =>
        inputs.Length > 0 && EmulatesLowPrecision(inputs[0].DType) && op.Autocast == AutocastCategory.LowerPrecision
            ? ExecuteThroughFloat32(op, attrs, inputs, outputs)
            : _kernels.Get(op)(inputs, attrs, outputs);

    /// <inheritdoc />
    public object FromBytes(ReadOnlySpan<byte> data, TensorSpec spec)
    {
        var t = torch.empty(spec.Shape.Raw, TorchTypes.ToScalarType(spec.DType), torch.CPU);
        if (data.Length > 0) data.CopyTo(t.bytes);
        if (Device.Type == DeviceType.Cpu) return t;
        using (t) return t.to(TorchDevice);
    }

    /// <inheritdoc />
    public void ToBytes(object handle, TensorSpec spec, Span<byte> destination)
    {
        var t = (TT)handle;
        if (t.device_type == TorchSharp.DeviceType.CPU && t.is_contiguous())
        {
            t.bytes.CopyTo(destination);
            GC.KeepAlive(t); // the span points into t's storage, which t's finalizer would free
            return;
        }
        using var onCpu = t.cpu();
        using var c = onCpu.contiguous();
        c.bytes.CopyTo(destination);
    }

    /// <summary>The TorchSharp tensor behind a DualFramework tensor of this backend.</summary>
    public static TT Raw(Tensor t) => (TT)t.Handle;

    /// <summary>Wraps a TorchSharp tensor (ownership passes to the result) as a DualFramework tensor.</summary>
    public Tensor Wrap(TT t) => Tensor.Wrap(this, t, new TensorSpec(Shape.Own(t.shape), TorchTypes.FromScalarType(t.dtype)));
}

/// <summary>Kernel signature: operands, attributes and expected output specs → a handle or an array of handles.</summary>
internal delegate object TorchKernel(ReadOnlySpan<Tensor> inputs, OpAttrs attrs, TensorSpec[] outputs);

/// <summary>A kernel of an op whose attributes are <typeparamref name="TAttrs"/> (registered without casts).</summary>
internal delegate object TorchKernel<in TAttrs>(ReadOnlySpan<Tensor> inputs, TAttrs attrs, TensorSpec[] outputs) where TAttrs : OpAttrs;

/// <summary>The op → kernel map, indexed by <see cref="Op.Id"/>.</summary>
internal sealed class KernelTable(TorchBackend backend)
{
    private TorchKernel?[] _kernels = new TorchKernel?[OpRegistry.All.Count];

    public TorchBackend Backend { get; } = backend;

    public void Add(Op op, TorchKernel kernel)
    {
        if (op.Id >= _kernels.Length) Array.Resize(ref _kernels, op.Id + 1);
        _kernels[op.Id] = kernel;
    }

    /// <summary>Registers the kernel of <paramref name="op"/>, which receives the op's attributes typed.</summary>
    public void Add<TAttrs>(Op<TAttrs> op, TorchKernel<TAttrs> kernel) where TAttrs : OpAttrs =>
        Add((Op)op, new TorchKernel((inputs, attrs, outputs) => kernel(inputs, (TAttrs)attrs, outputs)));

    public bool Has(Op op) => op.Id < _kernels.Length && _kernels[op.Id] != null;

    public TorchKernel Get(Op op) =>
        (op.Id < _kernels.Length ? _kernels[op.Id] : null) ?? throw new NotSupportedException($"The torch backend has no kernel for op '{op.Name}'.");
}
