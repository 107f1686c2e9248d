using System.Runtime.InteropServices;

namespace DualFramework.Distributed;

/// <summary>Typed conveniences over <see cref="ICommunicator"/>'s byte-level collectives.</summary>
public static class CommunicatorExtensions
{
    /// <summary>All-reduces float32 values in place.</summary>
    public static void AllReduce(this ICommunicator c, Span<float> values, ReduceOp op = ReduceOp.Sum) =>
        c.AllReduce(MemoryMarshal.AsBytes(values), DType.Float32, op);

    /// <summary>All-reduces float64 values in place.</summary>
    public static void AllReduce(this ICommunicator c, Span<double> values, ReduceOp op = ReduceOp.Sum) =>
        c.AllReduce(MemoryMarshal.AsBytes(values), DType.Float64, op);

    /// <summary>All-reduces float16 values in place (reduced in float32, rounded once).</summary>
    public static void AllReduce(this ICommunicator c, Span<Half> values, ReduceOp op = ReduceOp.Sum) =>
        c.AllReduce(MemoryMarshal.AsBytes(values), DType.Float16, op);

    /// <summary>
    /// A new tensor holding the all-reduce of <paramref name="tensor"/> across ranks (same shape, dtype and backend;
    /// owned by the current scope). The values travel through host memory.
    /// </summary>
    public static Tensor AllReduce(this ICommunicator c, Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var bytes = tensor.ToBytes();
        c.AllReduce(bytes, tensor.DType, op);
        return Tensor.FromBytes(bytes, tensor.Spec, tensor.Backend);
    }

    /// <summary>A new tensor holding <paramref name="root"/>'s <paramref name="tensor"/> on every rank (same spec required).</summary>
    public static Tensor Broadcast(this ICommunicator c, Tensor tensor, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var bytes = tensor.ToBytes();
        c.Broadcast(bytes, root);
        return Tensor.FromBytes(bytes, tensor.Spec, tensor.Backend);
    }

    /// <summary>Every rank's <paramref name="value"/>, indexed by rank.</summary>
    public static long[] AllGather(this ICommunicator c, long value)
    {
        var all = new long[c.Size];
        c.AllGather(MemoryMarshal.AsBytes(new[] { value }.AsSpan()), MemoryMarshal.AsBytes(all.AsSpan()));
        return all;
    }

    /// <summary>Every rank's byte string (lengths may differ), indexed by rank.</summary>
    public static byte[][] AllGatherVariable(this ICommunicator c, ReadOnlySpan<byte> value)
    {
        var lengths = c.AllGather(value.Length);
        int max = (int)lengths.Max();
        var padded = new byte[max];
        value.CopyTo(padded);
        var all = new byte[max * c.Size];
        c.AllGather(padded, all);
        var result = new byte[c.Size][];
        for (int r = 0; r < c.Size; r++) result[r] = all.AsSpan(r * max, (int)lengths[r]).ToArray();
        return result;
    }
}
