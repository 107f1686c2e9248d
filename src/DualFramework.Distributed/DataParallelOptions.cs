namespace DualFramework.Distributed;

/// <summary>How <see cref="DataParallel"/> keeps non-trainable buffers (BatchNorm running statistics) in agreement.</summary>
public enum BufferSync
{
    /// <summary>After each step every floating buffer becomes its average over replicas (the default: every replica's
    /// batches contribute to the running statistics, and all replicas hold identical buffers).</summary>
    Average,
    /// <summary>After each step every buffer is overwritten with rank 0's (PyTorch DDP's <c>broadcast_buffers</c>).</summary>
    FromRoot,
}

/// <summary>Settings of a <see cref="DataParallel"/> strategy.</summary>
public sealed record DataParallelOptions
{
    /// <summary>Largest fused all-reduce buffer in bytes (default 25 MiB, as PyTorch DDP). Gradients are packed into
    /// buckets of at most this size (a larger single gradient gets a bucket of its own), one collective per bucket.</summary>
    public long BucketSizeBytes { get; init; } = 25L << 20;

    /// <summary>How buffers are synchronised after each step (default <see cref="BufferSync.Average"/>).</summary>
    public BufferSync Buffers { get; init; } = BufferSync.Average;
}
