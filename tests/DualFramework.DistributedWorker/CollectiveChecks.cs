using System.Runtime.InteropServices;
using DualFramework.Distributed;

namespace DualFramework.DistributedWorker;

/// <summary>
/// Exercises every collective of a communicator against independently computed expectations and throws on the first
/// difference. Inputs are multiples of 1/4 below 3 in magnitude, so sums and maxima of a few ranks are exact in every dtype
/// (bfloat16 included), a mean is one known rounding, and the comparison is exact.
/// </summary>
public static class CollectiveChecks
{
    private static double Value(int rank, int i) => ((i * 7 + rank * 13) % 23 - 11) * 0.25;

    public static void Run(ICommunicator c)
    {
        foreach (int n in new[] { 1, 1001, 1 << 18 })
            foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Float16, DType.BFloat16 })
                foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Mean, ReduceOp.Max })
                    CheckAllReduce(c, n, dtype, op);

        // Broadcast from the last rank.
        int root = c.Size - 1;
        var bytes = new byte[777];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)(c.Rank == root ? i * 3 + 1 : 0xEE);
        c.Broadcast(bytes, root);
        for (int i = 0; i < bytes.Length; i++)
            if (bytes[i] != (byte)(i * 3 + 1)) throw new InvalidOperationException($"rank {c.Rank}: Broadcast byte {i} is {bytes[i]}");

        // AllGather of two longs per rank.
        var send = new long[] { c.Rank, 100 + c.Rank * 2 };
        var all = new long[2 * c.Size];
        c.AllGather(MemoryMarshal.AsBytes(send.AsSpan()), MemoryMarshal.AsBytes(all.AsSpan()));
        for (int r = 0; r < c.Size; r++)
            if (all[2 * r] != r || all[2 * r + 1] != 100 + 2 * r) throw new InvalidOperationException($"rank {c.Rank}: AllGather slot {r} is [{all[2 * r]}, {all[2 * r + 1]}]");

        c.Barrier();
    }

    private static void CheckAllReduce(ICommunicator c, int n, DType dtype, ReduceOp op)
    {
        var buffer = new byte[n * dtype.ElementSize()];
        for (int i = 0; i < n; i++) Write(buffer, dtype, i, Value(c.Rank, i));
        c.AllReduce(buffer, dtype, op);
        for (int i = 0; i < n; i++)
        {
            double expected = op == ReduceOp.Max ? double.NegativeInfinity : 0;
            for (int r = 0; r < c.Size; r++)
                expected = op == ReduceOp.Max ? Math.Max(expected, Value(r, i)) : expected + Value(r, i);
            // Sums and maxima are exact; a mean is one rounding of the exact sum divided by the rank count, done in float64
            // for float64 and in float32 (then rounded to the element type) for the others.
            if (op == ReduceOp.Mean) expected = dtype == DType.Float64 ? expected / c.Size : RoundTo(dtype, (float)expected / c.Size);
            double got = Read(buffer, dtype, i);
            if (got != expected)
                throw new InvalidOperationException($"rank {c.Rank}: AllReduce {op} of {n} {dtype.Name()} values: element {i} is {got}, expected {expected}");
        }
    }

    private static double RoundTo(DType dtype, float v)
    {
        if (dtype == DType.Float32) return v;
        if (dtype == DType.Float16) return (double)(Half)v;
        // bfloat16: the nearer of the two neighbouring values with 7 mantissa bits, ties to the even one.
        uint bits = BitConverter.SingleToUInt32Bits(v);
        float down = BitConverter.UInt32BitsToSingle(bits & 0xFFFF0000u), up = BitConverter.UInt32BitsToSingle((bits & 0xFFFF0000u) + 0x10000u);
        double dd = Math.Abs(v - (double)down), du = Math.Abs((double)up - v);
        return dd < du || (dd == du && ((bits >> 16) & 1) == 0) ? down : up;
    }

    private static void Write(byte[] b, DType dtype, int i, double v)
    {
        switch (dtype)
        {
            case DType.Float32: MemoryMarshal.Cast<byte, float>(b.AsSpan())[i] = (float)v; break;
            case DType.Float64: MemoryMarshal.Cast<byte, double>(b.AsSpan())[i] = v; break;
            case DType.Float16: MemoryMarshal.Cast<byte, Half>(b.AsSpan())[i] = (Half)v; break;
            default: MemoryMarshal.Cast<byte, ushort>(b.AsSpan())[i] = (ushort)(BitConverter.SingleToUInt32Bits((float)v) >> 16); break; // exact for these values
        }
    }

    private static double Read(byte[] b, DType dtype, int i) => dtype switch
    {
        DType.Float32 => MemoryMarshal.Cast<byte, float>(b.AsSpan())[i],
        DType.Float64 => MemoryMarshal.Cast<byte, double>(b.AsSpan())[i],
        DType.Float16 => (double)MemoryMarshal.Cast<byte, Half>(b.AsSpan())[i],
        _ => BitConverter.UInt32BitsToSingle((uint)MemoryMarshal.Cast<byte, ushort>(b.AsSpan())[i] << 16),
    };
}
