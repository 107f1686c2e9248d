using DualFramework.Data;
using DualFramework.NN;

namespace DualFramework.Training;

/// <summary>
/// How the <see cref="Trainer"/> spreads training over several replicas of the model (one per rank). Core defines only
/// the hooks the training loop calls; implementations (data parallelism over in-process replicas or MPI) live in the
/// DualFramework.Distributed package. Without a strategy the Trainer trains one replica.
/// </summary>
/// <remarks>
/// Per step the Trainer calls, in order: <see cref="Setup"/> (once, before the first step), forward and backward on the
/// rank's shard, <see cref="ReduceGradients"/>, the optimizer step, <see cref="SyncBuffers"/>. Epoch logs and
/// <see cref="Trainer.Evaluate"/> results pass through <see cref="ReduceMetrics"/>, so every rank sees the same numbers
/// (and callbacks such as early stopping decide alike). Callbacks that write files or the console act on the root only.
/// </remarks>
public abstract class DistributionStrategy
{
    /// <summary>This replica's rank.</summary>
    public abstract int Rank { get; }

    /// <summary>Number of replicas.</summary>
    public abstract int WorldSize { get; }

    /// <summary>True on rank 0, the replica that writes checkpoints and logs.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>Makes every replica start from the same state (e.g. rank 0's parameters and buffers) and checks that all
    /// replicas hold the same model. Called once per model before its first training step.</summary>
    public abstract void Setup(Module model);

    /// <summary>The rank's part of every global training batch.</summary>
    public abstract Dataset<Batch> ShardTraining(Dataset<Batch> globalBatches);

    /// <summary>The rank's part of an evaluation dataset (each example evaluated by exactly one rank).</summary>
    public abstract Dataset<Batch> ShardEvaluation(Dataset<Batch> batches);

    /// <summary>Replaces each parameter's gradient by its average over replicas.</summary>
    public abstract void ReduceGradients(IReadOnlyList<Variable> parameters);

    /// <summary>Brings the model's buffers (BatchNorm running statistics) into agreement after an optimizer step.</summary>
    public abstract void SyncBuffers(Module model);

    /// <summary>Sums the metrics' statistics over replicas (see <see cref="Metric.GetSummableState"/>).</summary>
    public abstract void ReduceMetrics(IReadOnlyList<Metric> metrics);
}
