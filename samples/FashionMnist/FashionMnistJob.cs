using System.Diagnostics;
using DualFramework.Backends;
using DualFramework.Data;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Training;

namespace DualFramework.Samples.FashionMnist;

/// <summary>Settings of one training run of the main job.</summary>
public sealed record JobOptions
{
    /// <summary>Backend name ("torch", "graph").</summary>
    public string Backend { get; init; } = "torch";
    /// <summary>"mlp" or "cnn".</summary>
    public string Model { get; init; } = "cnn";
    /// <summary>Training epochs.</summary>
    public int Epochs { get; init; } = 2;
    /// <summary>Batch size.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Directory of the IDX files (null: the Debian package's).</summary>
    public string? DataDir { get; init; }
    /// <summary>Seed of weights and data order.</summary>
    public long Seed { get; init; }
    /// <summary>Peak learning rate (cosine decay to 0 over the run).</summary>
    public double LearningRate { get; init; } = 2e-3;
    /// <summary>Dtype policy name (<c>float32</c>, <c>mixed_bfloat16</c>, <c>mixed_float16</c>…); null: the global policy
    /// (<c>DUALFRAMEWORK_PRECISION</c>, default float32).</summary>
    public string? Precision { get; init; }
    /// <summary>After training: "static", "dynamic" or "qat" INT8 quantization to ONNX (docs/quantization.md); null: none.</summary>
    public string? Quantize { get; init; }
    /// <summary>After training: magnitude pruning to this sparsity with one epoch of fine-tuning; null: none.</summary>
    public double? Prune { get; init; }
    /// <summary>Folder for the deployment step's ONNX files (default: a temporary folder).</summary>
    public string? OutputDir { get; init; }
    /// <summary>Show the progress bar and per-epoch lines.</summary>
    public bool Progress { get; init; } = true;
    /// <summary>Evaluate the test set after every epoch too (<c>val_loss</c>, <c>val_accuracy</c> in the history).</summary>
    public bool Validate { get; init; }
    /// <summary>A checkpoint written by <see cref="Trainer.SaveCheckpoint(string, int, IReadOnlyDictionary{string, string})"/> or a mid-epoch one to continue from; null: a fresh run.</summary>
    public string? ResumeFrom { get; init; }
    /// <summary>Dropout rate before the last layer (0: no dropout layer, the default models).</summary>
    public double Dropout { get; init; }
    /// <summary>After training, the model's parameters are written here (safetensors); null: not saved.</summary>
    public string? SaveModelTo { get; init; }
    /// <summary>More callbacks for <c>Fit</c> (loggers, checkpoints, another progress display).</summary>
    public IReadOnlyList<Callback> Callbacks { get; init; } = [];
}

/// <summary>Outcome of a run.</summary>
/// <param name="TestAccuracy">Accuracy on the 10,000 test images.</param>
/// <param name="TestLoss">Mean cross-entropy on the test images.</param>
/// <param name="TrainSeconds">Wall time of <c>Fit</c>.</param>
/// <param name="Precision">The dtype policy trained under.</param>
/// <param name="SkippedSteps">Steps the loss scaler skipped (non-finite gradients); 0 without one.</param>
/// <param name="Deploy">What the deployment step (quantization) measured, or null.</param>
/// <param name="History">Per-epoch logs of this run (epochs before a resume are not in it).</param>
/// <param name="Parameters">Number of trainable values in the model.</param>
/// <param name="TrainTraces">Traces of the compiled train step (graph backend; 0 when steps run eagerly): 1 with the
/// Trainer's symbolic batch, however the epoch's last batch is sized.</param>
/// <param name="EvalTraces">Traces of the compiled evaluation step (likewise).</param>
public sealed record JobResult(double TestAccuracy, double TestLoss, double TrainSeconds, string Precision = "float32", long SkippedSteps = 0,
    DeployResult? Deploy = null, History? History = null, long Parameters = 0, int TrainTraces = 0, int EvalTraces = 0);

/// <summary>The main job: Fashion-MNIST with an MLP or a CNN, Adam with cosine decay, standardised pixels.</summary>
public static class FashionMnistJob
{
    // Mean and standard deviation of the training pixels (published values for Fashion-MNIST).
    private const float Mean = 0.2860f, Std = 0.3530f;

    /// <summary>The example with its pixels standardised (a copy; see <see cref="StandardizePixels"/>).</summary>
    public static Example Standardize(Example e) => e.WithFeatures(StandardizePixels(e.Features.ToArray()));

    /// <summary>A standardised copy of <paramref name="pixels"/> (values in [0, 1]).</summary>
    public static float[] Standardize(ReadOnlySpan<float> pixels) => StandardizePixels(pixels.ToArray());

    /// <summary>Pixels in [0, 1] standardised with the training set's mean and deviation (in place; returns the array).</summary>
    public static float[] StandardizePixels(float[] f)
    {
        for (int i = 0; i < f.Length; i++) f[i] = (f[i] - Mean) / Std;
        return f;
    }

    /// <summary>The first <paramref name="train"/> and <paramref name="test"/> images of each split (the files' order, so a
    /// quick run stays representative of the classes); null keeps a whole split.</summary>
    public static FashionMnistData Subset(FashionMnistData data, int? train, int? test) => new(Take(data.Train, train), Take(data.Test, test));

    private static LabeledImages Take(LabeledImages images, int? n)
    {
        if (n is not { } count || count >= images.Count) return images;
        long size = images.ImageShape.NumElements;
        return new LabeledImages(images.Pixels.AsSpan(0, checked((int)(count * size))).ToArray(), images.ImageShape, images.Labels[..count]);
    }

    /// <summary>
    /// Trains and evaluates; parameters are created on <see cref="JobOptions.Backend"/>. With a
    /// <paramref name="strategy"/> this is one replica of a data-parallel run: <see cref="JobOptions.BatchSize"/> is the
    /// global batch, split over the replicas, and the returned figures are those of the whole test set on every rank.
    /// </summary>
    public static JobResult Run(JobOptions o, FashionMnistData data, TextWriter? log = null, DistributionStrategy? strategy = null)
    {
        var backend = BackendRegistry.Get(o.Backend);
        using (BackendRegistry.Use(backend))
        {
            var train = data.Train.ToDataset().Shuffle(o.Seed).Map(Standardize).Batch(o.BatchSize).Prefetch(4);
            var test = data.Test.ToDataset().Map(Standardize).Batch(1000).Prefetch(2);
            using var net = Models.Create(o.Model, new SeededRandom(o.Seed), o.Dropout);
            log?.WriteLine($"{net.ParameterCount()} parameters");
            using var optimizer = new Adam(net.Parameters(), o.LearningRate);
            var trainer = new Trainer(net, strategy);
            trainer.Compile(optimizer, new CrossEntropyLoss(), [new Accuracy()], precision: o.Precision);
            int initialEpoch = o.ResumeFrom != null ? trainer.Resume(o.ResumeFrom) : 0;
            long batches = (data.Train.Count + o.BatchSize - 1) / o.BatchSize;
            int world = strategy?.WorldSize ?? 1;
            var callbacks = new List<Callback> { new LearningRateScheduler(new CosineLr(o.Epochs * batches), perStep: true) };
            // Each replica sees ⌈B/N⌉ examples of every global batch.
            long perReplica = world == 1 ? data.Train.Count : batches * ((o.BatchSize + world - 1) / world);
            if (o.Progress) callbacks.Add(new ProgressBar(perReplica, o.Epochs));
            callbacks.AddRange(o.Callbacks);
            var sw = Stopwatch.StartNew();
            var history = trainer.Fit(train, o.Epochs, o.Validate ? test : null, callbacks, initialEpoch);
            double seconds = sw.Elapsed.TotalSeconds;
            if (o.SaveModelTo != null && trainer.IsRoot) Checkpoints.SafeTensors.Save(o.SaveModelTo, net.StateDict());
            var result = trainer.Evaluate(test);
            DeployResult? deploy = null;
            var folder = o.OutputDir ?? Path.Combine(Path.GetTempPath(), $"dualframework-fmnist-{Environment.ProcessId}");
            if (o.Quantize == "qat") deploy = Deployment.QuantizeAware(net, data, train, batches, StandardizePixels, folder);
            else if (o.Quantize != null) deploy = Deployment.Quantize(o.Quantize, net, data, StandardizePixels, folder);
            else if (o.Prune is { } sparsity) deploy = Deployment.Prune(sparsity, net, data, train, batches, StandardizePixels, folder);
            return new JobResult(result["accuracy"], result["loss"], seconds, trainer.PrecisionPolicy.Name, trainer.LossScaler?.SkippedSteps ?? 0, deploy,
                history, net.ParameterCount(), trainer.CompiledTrainStep?.TraceCount ?? 0, trainer.CompiledEvalStep?.TraceCount ?? 0);
        }
    }
}
