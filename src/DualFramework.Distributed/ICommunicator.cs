namespace DualFramework.Distributed;

/// <summary>How <see cref="ICommunicator.AllReduce"/> combines the ranks' buffers.</summary>
public enum ReduceOp
{
    /// <summary>Element-wise sum.</summary>
    Sum,
    /// <summary>Element-wise sum divided by the number of ranks.</summary>
    Mean,
    /// <summary>Element-wise maximum.</summary>
    Max,
}

/// <summary>
/// A group of ranks that run the same program and exchange buffers with collective operations (the subset of MPI that
/// data-parallel training needs). Every rank must call the same collectives in the same order with buffers of the same
/// size; a mismatch or a peer that fails or stops responding ends the call with a <see cref="CommunicatorException"/>
/// (or, for MPI, with the whole job being aborted) within <see cref="Timeout"/>, never a hang.
/// </summary>
/// <remarks>Buffers are little-endian host memory. Collectives are blocking: when a call returns, the buffer holds the
/// result and may be reused. One thread per rank may use the communicator at a time.</remarks>
public interface ICommunicator : IDisposable
{
    /// <summary>"inprocess", "mpi", …</summary>
    string Kind { get; }

    /// <summary>This rank's index, 0 … <see cref="Size"/> − 1.</summary>
    int Rank { get; }

    /// <summary>Number of ranks.</summary>
    int Size { get; }

    /// <summary>The longest a collective waits for its peers before failing.</summary>
    TimeSpan Timeout { get; set; }

    /// <summary>
    /// Combines <paramref name="buffer"/> across ranks in place. Floating types only (float32, float64, float16, bfloat16);
    /// float16 and bfloat16 are reduced in float32 and rounded once at the end. Every rank gets bit-identical results.
    /// </summary>
    void AllReduce(Span<byte> buffer, DType dtype, ReduceOp op);

    /// <summary>Copies <paramref name="root"/>'s <paramref name="buffer"/> into every other rank's.</summary>
    void Broadcast(Span<byte> buffer, int root);

    /// <summary>Gathers every rank's <paramref name="send"/> (same length on all ranks) into <paramref name="receive"/>,
    /// rank after rank (<c>receive.Length == send.Length * Size</c>).</summary>
    void AllGather(ReadOnlySpan<byte> send, Span<byte> receive);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();

    /// <summary>
    /// Ends the whole group because this rank cannot go on: the peers' pending and later collectives fail (in-process),
    /// or the launcher terminates every process (MPI, which does not return from this call).
    /// </summary>
    void Abort(string reason, int errorCode = 1);
}
