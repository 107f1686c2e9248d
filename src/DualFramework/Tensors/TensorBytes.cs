using DualFramework.Backends;

namespace DualFramework;

/// <summary>
/// Copies of a tensor's elements in host memory, as row-major little-endian bytes (the layout of
/// <see cref="IComputeBackend.FromBytes"/> and <see cref="IComputeBackend.ToBytes"/>): the one helper for code that needs
/// a tensor's raw data (checkpoints, exporters, communication, snapshots).
/// </summary>
public static class TensorBytes
{
    /// <summary>Number of bytes of a tensor of <paramref name="spec"/>.</summary>
    public static long ByteCount(this TensorSpec spec) => spec.Shape.NumElements * spec.DType.ElementSize();

    /// <summary>The elements of <paramref name="tensor"/> as a new byte array.</summary>
    /// <exception cref="InvalidOperationException">The tensor is larger than an array can hold.</exception>
    public static byte[] ToBytes(this Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        long n = tensor.Spec.ByteCount();
        if (n > Array.MaxLength) throw new InvalidOperationException($"Tensor {tensor.Spec} has {n} bytes, more than one array can hold.");
        var bytes = new byte[n];
        tensor.Backend.ToBytes(tensor.Handle, tensor.Spec, bytes);
        return bytes;
    }

    /// <summary>Copies the elements of <paramref name="tensor"/> into <paramref name="destination"/>, which must be exactly
    /// <see cref="ByteCount"/> long.</summary>
    public static void CopyBytesTo(this Tensor tensor, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (destination.Length != tensor.Spec.ByteCount())
            throw new ArgumentException($"Tensor {tensor.Spec} has {tensor.Spec.ByteCount()} bytes; the destination holds {destination.Length}.", nameof(destination));
        tensor.Backend.ToBytes(tensor.Handle, tensor.Spec, destination);
    }
}
