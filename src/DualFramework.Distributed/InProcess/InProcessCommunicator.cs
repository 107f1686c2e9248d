namespace DualFramework.Distributed;

/// <summary>One rank of an <see cref="InProcessGroup"/>.</summary>
internal sealed class InProcessCommunicator(InProcessRendezvous group, int rank) : ICommunicator
{
    private long _sequence;
    private float[] _scratch = [];
    private double[] _scratch64 = [];

    public string Kind => "inprocess";

    public int Rank { get; } = rank;

    public int Size => group.Size;

    public TimeSpan Timeout
    {
        get => group.Timeout;
        set => group.Timeout = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "must be positive");
    }

    public void AllReduce(Span<byte> buffer, DType dtype, ReduceOp op)
    {
        ReduceMath.Check($"in-process rank {Rank}: AllReduce", dtype, buffer.Length);
        group.AllReduce(Rank, ++_sequence, buffer, dtype, op, ref _scratch, ref _scratch64);
    }

    public void Broadcast(Span<byte> buffer, int root)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, Size);
        group.Broadcast(Rank, ++_sequence, buffer, root);
    }

    public void AllGather(ReadOnlySpan<byte> send, Span<byte> receive)
    {
        if (receive.Length != (long)send.Length * Size)
            throw new ArgumentException($"in-process rank {Rank}: AllGather needs a receive buffer of {(long)send.Length * Size} bytes, got {receive.Length}.", nameof(receive));
        group.AllGather(Rank, ++_sequence, send, receive);
    }

    public void Barrier() => group.Barrier(Rank, ++_sequence);

    public void Abort(string reason, int errorCode = 1) => group.Fail($"rank {Rank} aborted (code {errorCode}): {reason}", Rank);

    // Ranks share the group; it is freed by its owner (InProcessGroup).
    public void Dispose() { }
}
