using System.Text;
using DualFramework.Data;
using DualFramework.NN;
using DualFramework.Training;

namespace DualFramework.Distributed;

/// <summary>
/// Data parallelism with the semantics of TensorFlow's MirroredStrategy / PyTorch DDP: every rank holds a full replica,
/// starts from rank 0's parameters, trains on its shard of every global batch, and applies the same optimizer step with
/// gradients averaged over replicas (fused, bucketed all-reduces), so replicas stay identical. Pass it to
/// <see cref="Trainer"/>, or call <see cref="Setup"/>, <see cref="ShardTraining"/>, <see cref="ReduceGradients"/> and
/// <see cref="SyncBuffers"/> from a hand-written loop.
/// </summary>
public sealed class DataParallel : DistributionStrategy
{
    private GradientBuckets? _grads, _buffers;
    private float[] _flags = [];

    /// <summary>Creates the strategy over <paramref name="communicator"/> (which the caller keeps owning).</summary>
    public DataParallel(ICommunicator communicator, DataParallelOptions? options = null)
    {
        Communicator = communicator ?? throw new ArgumentNullException(nameof(communicator));
        Options = options ?? new DataParallelOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.BucketSizeBytes, 1, nameof(options));
    }

    /// <summary>The communicator joining the replicas.</summary>
    public ICommunicator Communicator { get; }

    /// <summary>The settings.</summary>
    public DataParallelOptions Options { get; }

    /// <inheritdoc />
    public override int Rank => Communicator.Rank;

    /// <inheritdoc />
    public override int WorldSize => Communicator.Size;

    /// <summary>Number of fused all-reduces per <see cref="ReduceGradients"/> call (after the first), for inspection.</summary>
    public int GradientBucketCount => _grads?.Buckets.Count ?? 0;

    /// <summary>
    /// Checks that every rank holds a model with the same variables (names, dtypes, shapes; an error on every rank names
    /// the first difference), then overwrites every parameter and buffer with rank 0's values.
    /// </summary>
    public override void Setup(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var named = model.NamedVariables().ToArray();
        var signature = string.Join('\n', named.Select(kv => $"{kv.Key} {kv.Value.Spec}"));
        var all = Communicator.AllGatherVariable(Encoding.UTF8.GetBytes(signature)).Select(Encoding.UTF8.GetString).ToArray();
        for (int r = 1; r < all.Length; r++)
            if (all[r] != all[0])
                throw new InvalidOperationException($"DataParallel: the replicas hold different models: {FirstDifference(all[0], all[r], r)}. " +
                    "Every rank must build the same model (same layers, shapes and dtypes).");
        var variables = named.Select(kv => kv.Value).ToArray();
        var plan = new GradientBuckets(variables, Options.BucketSizeBytes, sameDTypeOnly: false);
        using var scope = TensorScope.Begin();
        foreach (var bucket in plan.Buckets)
        {
            if (IsRoot) Pack(bucket, i => variables[i].Value);
            Communicator.Broadcast(bucket.Buffer, 0);
            if (!IsRoot) Unpack(bucket, variables, (v, t) => v.Assign(t));
        }
    }

    private static string FirstDifference(string root, string other, int rank)
    {
        var a = root.Split('\n');
        var b = other.Split('\n');
        for (int i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var x = i < a.Length ? a[i] : "(nothing)";
            var y = i < b.Length ? b[i] : "(nothing)";
            if (x != y) return $"variable #{i} is '{x}' on rank 0 but '{y}' on rank {rank} ({a.Length} vs {b.Length} variables)";
        }
        return $"rank {rank} differs from rank 0";
    }

    /// <inheritdoc />
    public override Dataset<Batch> ShardTraining(Dataset<Batch> globalBatches) => new ShardedBatches(globalBatches, Rank, WorldSize, pad: true);

    /// <inheritdoc />
    public override Dataset<Batch> ShardEvaluation(Dataset<Batch> batches) => new ShardedBatches(batches, Rank, WorldSize, pad: false);

    /// <summary>
    /// Replaces every parameter's gradient by its mean over replicas, one fused all-reduce per bucket. A parameter without
    /// a gradient on some ranks counts as zero there (as in DDP); one without a gradient on every rank keeps none.
    /// </summary>
    public override void ReduceGradients(IReadOnlyList<Variable> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (WorldSize == 1) return;
        if (_grads == null || !_grads.Matches(parameters)) _grads = new GradientBuckets(parameters, Options.BucketSizeBytes);
        using var scope = TensorScope.Begin();
        var grads = new Tensor?[parameters.Count];
        if (_flags.Length != parameters.Count) _flags = new float[parameters.Count];
        for (int i = 0; i < grads.Length; i++)
        {
            grads[i] = parameters[i].Grad;
            _flags[i] = grads[i] == null ? 0 : 1;
        }
        Communicator.AllReduce(_flags.AsSpan(), ReduceOp.Max);
        foreach (var bucket in _grads.Buckets)
        {
            if (!bucket.Members.Any(i => _flags[i] != 0)) continue;
            Pack(bucket, i => grads[i]);
            Communicator.AllReduce(bucket.Buffer, bucket.DType, ReduceOp.Mean);
            Unpack(bucket, parameters, (p, t) => p.Value.Grad = t, i => _flags[i] != 0);
        }
    }

    /// <inheritdoc />
    public override void SyncBuffers(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (WorldSize == 1) return;
        var buffers = model.NamedBuffers().Select(b => b.Buffer).Where(b => Options.Buffers == BufferSync.FromRoot || b.Spec.DType.IsFloating()).ToArray();
        if (buffers.Length == 0) return;
        if (_buffers == null || !_buffers.Matches(buffers)) _buffers = new GradientBuckets(buffers, Options.BucketSizeBytes, sameDTypeOnly: Options.Buffers == BufferSync.Average);
        using var scope = TensorScope.Begin();
        foreach (var bucket in _buffers.Buckets)
        {
            Pack(bucket, i => buffers[i].Value);
            if (Options.Buffers == BufferSync.Average) Communicator.AllReduce(bucket.Buffer, bucket.DType, ReduceOp.Mean);
            else Communicator.Broadcast(bucket.Buffer, 0);
            Unpack(bucket, buffers, (v, t) => v.Assign(t));
        }
    }

    /// <inheritdoc />
    public override void ReduceMetrics(IReadOnlyList<Metric> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (WorldSize == 1 || metrics.Count == 0) return;
        var states = metrics.Select(m => m.GetSummableState()).ToArray();
        var all = states.SelectMany(s => s).ToArray();
        Communicator.AllReduce(all.AsSpan(), ReduceOp.Sum);
        int at = 0;
        for (int k = 0; k < metrics.Count; k++)
        {
            metrics[k].SetSummableState(all.AsSpan(at, states[k].Length));
            at += states[k].Length;
        }
    }

    /// <summary>The mean of <paramref name="value"/> over replicas (e.g. a loss for logging).</summary>
    public double AllReduceMean(double value)
    {
        Span<double> v = [value];
        Communicator.AllReduce(v, ReduceOp.Mean);
        return v[0];
    }

    // Copies each member's tensor (zeros where absent) into the bucket's fused buffer.
    private static void Pack(GradientBuckets.Bucket bucket, Func<int, Tensor?> tensor)
    {
        for (int k = 0; k < bucket.Members.Length; k++)
        {
            var t = tensor(bucket.Members[k]);
            if (t == null) bucket.Slot(k).Clear();
            else t.CopyBytesTo(bucket.Slot(k));
        }
    }

    // Creates a tensor per member from the fused buffer, on the backend of the member's current value.
    private static void Unpack(GradientBuckets.Bucket bucket, IReadOnlyList<Variable> variables, Action<Variable, Tensor> set, Func<int, bool>? include = null)
    {
        for (int k = 0; k < bucket.Members.Length; k++)
        {
            int i = bucket.Members[k];
            if (include != null && !include(i)) continue;
            var v = variables[i];
            set(v, Tensor.FromBytes(bucket.Slot(k), v.Spec, v.Value.Backend));
        }
    }
}
