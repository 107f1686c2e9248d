using System.Runtime.InteropServices;
using DualFramework.Autodiff;
using DualFramework.Backends;

namespace DualFramework;

/// <summary>
/// A backend-neutral n-dimensional array: a shape, a dtype and a handle owned by a backend.
/// Tensors are immutable values; ops create new tensors.
/// </summary>
/// <remarks>
/// Lifetime: a tensor belongs to the innermost <see cref="TensorScope"/> open when it was created (see there), or to its
/// creator when none is open. <see cref="Dispose"/> releases its native memory at once.
/// </remarks>
public sealed partial class Tensor : IDisposable
{
    private object? _handle;
    private readonly TensorSpec _spec;
    internal TensorScope? Scope;

    // Core tape state (used when gradients come from the tape rather than the backend's own autograd).
    internal TapeNode? Node;
    internal int OutputIndex;
    internal bool TapeRequiresGrad;
    internal Tensor? TapeGrad;

    internal Tensor(IComputeBackend backend, object handle, TensorSpec spec)
    {
        Backend = backend;
        _handle = handle;
        _spec = spec;
        TensorScope.Track(this);
    }

    /// <summary>The backend that owns the data.</summary>
    public IComputeBackend Backend { get; }

    /// <summary>The backend's handle. Throws once disposed.</summary>
    public object Handle => _handle ?? throw new ObjectDisposedException(nameof(Tensor), $"Tensor {_spec} was disposed (its scope ended?).");

    /// <summary>True once the native memory was released.</summary>
    public bool IsDisposed => _handle == null;

    /// <summary>Shape and dtype.</summary>
    public TensorSpec Spec => _spec;

    /// <summary>The shape.</summary>
    public Shape Shape => _spec.Shape;

    /// <summary>The element type.</summary>
    public DType DType => _spec.DType;

    /// <summary>Number of dimensions.</summary>
    public int Rank => _spec.Shape.Rank;

    /// <summary>Number of elements.</summary>
    public long NumElements => _spec.Shape.NumElements;

    /// <summary>The device the data lives on.</summary>
    public Device Device => Backend.Device;

    /// <summary>Creates a tensor from host data on the default backend (or <paramref name="backend"/>).</summary>
    /// <exception cref="ArgumentException">The data length does not match the shape, or the element type has no dtype.</exception>
    public static Tensor FromArray<T>(T[] data, Shape shape, IComputeBackend? backend = null) where T : unmanaged =>
        FromSpan<T>(data, shape, backend);

    /// <summary>Creates a 1-D tensor from host data on the default backend.</summary>
    public static Tensor FromArray<T>(params T[] data) where T : unmanaged => FromSpan<T>(data, new Shape((long)data.Length), null);

    /// <summary>Creates a tensor from host data on the default backend (or <paramref name="backend"/>).</summary>
    public static Tensor FromSpan<T>(ReadOnlySpan<T> data, Shape shape, IComputeBackend? backend = null) where T : unmanaged
    {
        var dtype = DTypeOf<T>();
        if (data.Length != shape.NumElements)
            throw new ArgumentException($"Data has {data.Length} elements but shape {shape} needs {shape.NumElements}.", nameof(data));
        var b = backend ?? BackendRegistry.Default;
        var spec = new TensorSpec(shape, dtype);
        return new Tensor(b, b.FromBytes(MemoryMarshal.AsBytes(data), spec), spec);
    }

    /// <summary>Creates a tensor of any dtype from its little-endian element bytes.</summary>
    public static Tensor FromBytes(ReadOnlySpan<byte> data, TensorSpec spec, IComputeBackend? backend = null)
    {
        if (data.Length != spec.Shape.NumElements * spec.DType.ElementSize())
            throw new ArgumentException($"{data.Length} bytes do not hold a {spec} tensor.", nameof(data));
        var b = backend ?? BackendRegistry.Default;
        return new Tensor(b, b.FromBytes(data, spec), spec);
    }

    /// <summary>Creates a scalar (rank-0) tensor.</summary>
    public static Tensor Scalar<T>(T value, IComputeBackend? backend = null) where T : unmanaged =>
        FromSpan<T>([value], Shape.Scalar, backend);

    internal static Tensor Wrap(IComputeBackend backend, object handle, TensorSpec spec) => new(backend, handle, spec);

    /// <summary>Exchanges this tensor's handle with <paramref name="handle"/> (same spec): backends that update state in
    /// place swap a freshly written buffer in and take the old one back for reuse.</summary>
    internal void SwapHandle(ref object handle) => (_handle, handle) = (handle, Handle);

    /// <summary>Copies the elements to a new host array. <typeparamref name="T"/> must match <see cref="DType"/>.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var want = DTypeOf<T>();
        if (want != DType && !(DType == DType.BFloat16 && typeof(T) == typeof(ushort)))
            throw new InvalidOperationException($"ToArray<{typeof(T).Name}> on a {DType.Name()} tensor: cast it first (Ops.Cast).");
        var result = new T[NumElements];
        Backend.ToBytes(Handle, _spec, MemoryMarshal.AsBytes(result.AsSpan()));
        return result;
    }

    /// <summary>The elements converted to float64 (any numeric dtype).</summary>
    public double[] ToDoubleArray()
    {
        if (DType == DType.Float64) return ToArray<double>();
        using var scope = TensorScope.Begin();
        return Ops.Cast(this, DType.Float64).ToArray<double>();
    }

    /// <summary>The elements converted to float32 (any numeric dtype).</summary>
    public float[] ToFloatArray()
    {
        if (DType == DType.Float32) return ToArray<float>();
        using var scope = TensorScope.Begin();
        return Ops.Cast(this, DType.Float32).ToArray<float>();
    }

    /// <summary>The value of a one-element tensor as a double.</summary>
    public double Item()
    {
        if (NumElements != 1) throw new InvalidOperationException($"Item() needs a one-element tensor, got {_spec}.");
        // Read the one element's bytes on the stack: no host array and no cast op (called once per training step).
        Span<byte> b = stackalloc byte[8];
        b = b[..DType.ElementSize()];
        Backend.ToBytes(Handle, _spec, b);
        return DType switch
        {
            DType.Float32 => MemoryMarshal.Read<float>(b),
            DType.Float64 => MemoryMarshal.Read<double>(b),
            DType.Float16 => (double)MemoryMarshal.Read<Half>(b),
            DType.BFloat16 => BitConverter.UInt32BitsToSingle((uint)MemoryMarshal.Read<ushort>(b) << 16),
            DType.Int64 => MemoryMarshal.Read<long>(b),
            DType.Int32 => MemoryMarshal.Read<int>(b),
            DType.Int8 => (sbyte)b[0],
            DType.UInt8 => b[0],
            DType.Bool => b[0] != 0 ? 1 : 0,
            _ => ToDoubleArray()[0],
        };
    }

    /// <summary>The dtype that stores elements of type <typeparamref name="T"/>.</summary>
    public static DType DTypeOf<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return DType.Float32;
        if (typeof(T) == typeof(double)) return DType.Float64;
        if (typeof(T) == typeof(Half)) return DType.Float16;
        if (typeof(T) == typeof(long)) return DType.Int64;
        if (typeof(T) == typeof(int)) return DType.Int32;
        if (typeof(T) == typeof(sbyte)) return DType.Int8;
        if (typeof(T) == typeof(byte)) return DType.UInt8;
        if (typeof(T) == typeof(bool)) return DType.Bool;
        if (typeof(T) == typeof(ushort)) return DType.BFloat16; // raw bfloat16 bits
        throw new ArgumentException($"No dtype for element type {typeof(T).Name}.");
    }

    /// <summary>Removes the tensor from its scope: the caller now owns it and must dispose it.</summary>
    public Tensor DetachFromScope()
    {
        TensorScope.Release(this);
        return this;
    }

    internal void DisposeHandle()
    {
        var h = _handle;
        _handle = null;
        Node = null;
        var g = TapeGrad;
        TapeGrad = null;
        g?.DisposeHandle();
        if (h is IDisposable d) d.Dispose();
    }

    /// <summary>Releases the native memory now.</summary>
    public void Dispose() => DisposeHandle();

    /// <summary>Short description: dtype, shape and backend.</summary>
    public override string ToString() => IsDisposed ? $"Tensor({_spec}, disposed)" : $"Tensor({_spec}, {Backend.Name})";
}
