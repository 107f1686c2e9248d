using DualFramework.Backends;
using DualFramework.Data;
using DualFramework.Distributed;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Training;

namespace DualFramework.DistributedWorker;

/// <summary>Settings of one data-parallel training scenario.</summary>
public sealed record TrainSpec
{
    public string Backend { get; init; } = "torch";
    public int Steps { get; init; } = 50;
    public int GlobalBatch { get; init; } = 16;
    public long Seed { get; init; } = 7;
    /// <summary>Train with a hand-written loop instead of Trainer.Fit.</summary>
    public bool HandLoop { get; init; }
    /// <summary>BatchNorm1d first (for the buffer-synchronisation checks).</summary>
    public bool BatchNorm { get; init; }
    /// <summary>Rank that fails at <see cref="FailAtStep"/> (−1: none) and how: "throw", "kill", "hang".</summary>
    public int FailRank { get; init; } = -1;
    public int FailAtStep { get; init; } = -1;
    public string FailMode { get; init; } = "throw";
    /// <summary>Collective timeout in seconds set after the first step (null: keep the communicator's), so that a slow
    /// start on a loaded machine cannot trip a short timeout meant for a hang later on.</summary>
    public double? TimeoutAfterFirstStep { get; init; }
    /// <summary>Rank that builds a wider hidden layer (−1: none), to check the model comparison at start.</summary>
    public int MismatchRank { get; init; } = -1;
}

/// <summary>The training runs shared by the MPI worker and the in-process tests: a small MLP on seeded synthetic data.</summary>
public static class Scenarios
{
    public const int Features = 12, Classes = 4;

    /// <summary>Steps·B seeded examples; labels from a fixed random linear teacher.</summary>
    public static (float[] X, long[] Y) Data(TrainSpec s)
    {
        var rng = new SeededRandom(s.Seed * 31 + 1);
        int n = s.Steps * s.GlobalBatch;
        var teacher = new double[Features * Classes];
        for (int i = 0; i < teacher.Length; i++) teacher[i] = rng.Uniform(-1, 1);
        var x = new float[n * Features];
        var y = new long[n];
        for (int e = 0; e < n; e++)
        {
            for (int f = 0; f < Features; f++) x[e * Features + f] = (float)rng.Uniform(-2, 2);
            int best = 0;
            double bestScore = double.NegativeInfinity;
            for (int c = 0; c < Classes; c++)
            {
                double score = 0;
                for (int f = 0; f < Features; f++) score += teacher[c * Features + f] * x[e * Features + f];
                if (score > bestScore) (best, bestScore) = (c, score);
            }
            y[e] = best;
        }
        return (x, y);
    }

    /// <summary>The model; <paramref name="initSeed"/> differs between ranks on purpose (Setup must replace it).</summary>
    public static Module Model(TrainSpec s, long initSeed, IComputeBackend? backend = null, int hidden = 16)
    {
        using var onBackend = BackendRegistry.Use(backend ?? BackendRegistry.Default);
        var rng = new SeededRandom(initSeed);
        return s.BatchNorm
            ? new Sequential(new BatchNorm1d(Features), new Linear(Features, hidden, rng: rng), new ReLU(), new Linear(hidden, Classes, rng: rng))
            : new Sequential(new Linear(Features, hidden, rng: rng), new ReLU(), new Linear(hidden, Classes, rng: rng));
    }

    /// <summary>
    /// Trains for <see cref="TrainSpec.Steps"/> global batches of <see cref="TrainSpec.GlobalBatch"/> with Adam (one
    /// replica of a data-parallel group when <paramref name="strategy"/> is given) and returns the final variables
    /// (parameters and buffers) as float32 arrays by name.
    /// </summary>
    public static Dictionary<string, float[]> Train(TrainSpec s, DataParallel? strategy)
    {
        var backend = BackendRegistry.Get(s.Backend);
        int rank = strategy?.Rank ?? 0;
        var (x, y) = Data(s);
        var data = Dataset.FromArrays(x, [Features], y).Batch(s.GlobalBatch);
        using var scope = TensorScope.Begin();
        using var model = Model(s, s.Seed + rank, backend, rank == s.MismatchRank ? 17 : 16);
        using var optimizer = new Adam(model.Parameters(), 1e-2);
        var loss = new CrossEntropyLoss();
        int step = 0;
        void MaybeFail()
        {
            if (step == 1 && s.TimeoutAfterFirstStep is { } t && strategy != null) strategy.Communicator.Timeout = TimeSpan.FromSeconds(t);
            if (rank != s.FailRank || step != s.FailAtStep) return;
            switch (s.FailMode)
            {
                case "throw": throw new InvalidOperationException($"injected failure on rank {rank} at step {step}");
                case "kill": System.Diagnostics.Process.GetCurrentProcess().Kill(); break;
                case "hang": Thread.Sleep(Timeout.Infinite); break;
            }
        }
        if (s.HandLoop)
        {
            // The strategy's hooks called by hand, as a custom loop would.
            strategy?.Setup(model);
            var batches = strategy?.ShardTraining(data) ?? data;
            foreach (var batch in batches)
            {
                MaybeFail();
                using var stepScope = TensorScope.Begin();
                var (bx, by) = batch.ToTensors(backend);
                optimizer.ZeroGrad();
                loss.Compute(model.Call(bx), by).Backward();
                strategy?.ReduceGradients(optimizer.Parameters);
                optimizer.Step();
                strategy?.SyncBuffers(model);
                step++;
            }
        }
        else
        {
            var trainer = new Trainer(model, strategy);
            trainer.Compile(optimizer, loss);
            trainer.Fit(data, 1, callbacks: [new StepHook(() => { step++; MaybeFail(); })]);
        }
        return model.NamedVariables().ToDictionary(kv => kv.Key, kv => kv.Value.Value.ToFloatArray());
    }

    private sealed class StepHook(Action afterBatch) : Callback
    {
        public override void OnBatchEnd(Trainer trainer, long step, IReadOnlyDictionary<string, double> logs) => afterBatch();
    }
}
