using Microsoft.ML.OnnxRuntime;

namespace DualFramework.Serving;

/// <summary>Settings of the model repository and the HTTP server (docs/serving.md lists them with their defaults).</summary>
public sealed class ServingOptions
{
    /// <summary>The repository root: <c>ROOT/MODEL/VERSION/model.onnx</c> (+ optional <c>metadata.json</c>).</summary>
    public required string ModelRoot { get; init; }

    /// <summary>Address to listen on (default loopback).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (see <see cref="ModelServer.Address"/>).</summary>
    public int Port { get; init; } = 8501;

    /// <summary>How often the repository is scanned for new, changed or removed versions (default 1 s).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A new <c>model.onnx</c> is loaded once its size and write time were the same on two scans in a row, or it was last
    /// written at least this long ago (default 2 s): a file still being copied is not loaded half-written.
    /// </summary>
    public TimeSpan SettleTime { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Which versions are served (default: the latest).</summary>
    public VersionPolicy VersionPolicy { get; init; } = VersionPolicy.Latest();

    /// <summary>Largest request body in bytes (default 16 MiB); larger ones get 413.</summary>
    public long MaxBodyBytes { get; init; } = 16 << 20;

    /// <summary>Predictions running at once (default 64); more wait up to <see cref="QueueTimeout"/>, then get 429.</summary>
    public int MaxConcurrentRequests { get; init; } = 64;

    /// <summary>How long a prediction waits for a free slot before it gets 429 (default 5 s).</summary>
    public TimeSpan QueueTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>ONNX Runtime intra-op threads per run (default 1: requests run side by side, one core each).</summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>Dynamic batching (off when null).</summary>
    public BatchingOptions? Batching { get; init; }

    /// <summary>The ONNX Runtime session options each version is loaded with (also for in-process comparisons); the caller disposes them.</summary>
    public SessionOptions CreateSessionOptions()
    {
        return new SessionOptions
        {
            IntraOpNumThreads = IntraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
    }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelRoot)) throw new ArgumentException("the model root is empty", nameof(ModelRoot));
        if (Host != "localhost" && !System.Net.IPAddress.TryParse(Host, out _))
            throw new ArgumentException($"cannot listen on '{Host}': give an IP address (127.0.0.1, 0.0.0.0, ::1) or localhost", nameof(Host));
        if (Port is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(Port), Port, "the port must be 0..65535");
        if (PollInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(PollInterval), PollInterval, "the poll interval must be positive");
        if (MaxBodyBytes <= 0) throw new ArgumentOutOfRangeException(nameof(MaxBodyBytes), MaxBodyBytes, "the body limit must be positive");
        if (MaxConcurrentRequests <= 0) throw new ArgumentOutOfRangeException(nameof(MaxConcurrentRequests), MaxConcurrentRequests, "the concurrency limit must be positive");
        if (IntraOpThreads < 0) throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "intra-op threads must be 0 (ORT's default) or more");
        Batching?.Validate();
    }
}

/// <summary>Dynamic batching: concurrent requests to one version are joined along the batch axis into one run.</summary>
public sealed class BatchingOptions
{
    /// <summary>Most rows in one joined run (default 32).</summary>
    public int MaxBatch { get; init; } = 32;

    /// <summary>Longest a request waits for others to join its run (default 1 ms).</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(1);

    internal void Validate()
    {
        if (MaxBatch <= 0) throw new ArgumentOutOfRangeException(nameof(MaxBatch), MaxBatch, "the batch size must be positive");
        if (MaxWait < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(MaxWait), MaxWait, "the batching wait cannot be negative");
    }
}
