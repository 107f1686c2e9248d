using System.Globalization;
using System.Text.Json.Nodes;
using DualFramework.Data;
using DualFramework.Samples.FashionMnist;
using DualFramework.Tools.Dualfx.Output;
using DualFramework.Training;

namespace DualFramework.Tools.Dualfx.Training;

/// <summary>Runs <c>dualfx train</c>: the sample's <see cref="FashionMnistJob"/> with validation after each epoch and the
/// CLI's callbacks (progress, CSV log, checkpoints), then the curves and the summary.</summary>
internal static class TrainingRun
{
    private static readonly string[] Columns = ["loss", "accuracy", "val_loss", "val_accuracy", "epoch_seconds"];

    public static int Run(TrainSettings s, Reporter r)
    {
        string? resumeFile = s.Resume != null ? CheckpointFiles.Resolve(s.Resume) : null;
        string? saved = resumeFile != null ? CheckpointFiles.ModelName(resumeFile) : null;
        if (s.Model != null && saved != null && s.Model != saved)
            throw new UserErrorException($"--model {s.Model}, but checkpoint '{resumeFile}' holds the {saved} model", ExitCodes.Usage);
        string model = s.Model ?? saved ?? "cnn";
        var data = FashionMnistJob.Subset(FashionMnist.Load(s.DataDir), s.TrainLimit, s.TestLimit);

        var callbacks = new List<Callback>();
        if (s.LogPath != null)
        {
            EnsureParent(s.LogPath);
            callbacks.Add(new CsvLogger(s.LogPath, append: resumeFile != null)); // a resumed run continues the same log
        }
        ModelCheckpoint? checkpoints = null;
        if (s.CheckpointDir != null)
        {
            Directory.CreateDirectory(s.CheckpointDir);
            checkpoints = new ModelCheckpoint(CheckpointFiles.Pattern(s.CheckpointDir))
            {
                Metadata = new Dictionary<string, string> { [CheckpointFiles.ModelKey] = model, ["backend"] = s.Backend, ["precision"] = s.Precision },
            };
            callbacks.Add(checkpoints);
        }
        var options = new JobOptions
        {
            Backend = s.Backend,
            Model = model,
            Epochs = s.Epochs,
            BatchSize = s.BatchSize,
            Seed = s.Seed,
            LearningRate = s.LearningRate,
            Precision = s.Precision,
            Progress = false,
            Validate = true,
            ResumeFrom = resumeFile,
        };
        r.Line($"train {model} on {s.Backend} ({s.Precision}): {data.Train.Count} train / {data.Test.Count} test images, batch {s.BatchSize}, seed {s.Seed}"
               + (resumeFile != null ? $", resuming {resumeFile}" : ""));
        var result = r.Track(data.Train.Count, s.Epochs, progress => FashionMnistJob.Run(options with { Callbacks = [progress, .. callbacks] }, data));
        var history = result.History ?? new History();

        r.Table("epochs", ["epoch", .. Columns], history.Epochs.Select(e => (IReadOnlyList<string>)
            [(e.Epoch + 1).ToString(CultureInfo.InvariantCulture), .. Columns.Select(c => e.Logs.TryGetValue(c, out var v) ? F(v) : "")]));
        r.Line(string.Create(CultureInfo.InvariantCulture, $"test loss {result.TestLoss:F4}, test accuracy {result.TestAccuracy:F4}, {result.TrainSeconds:F1} s"));
        if (history.Epochs.Count == 0) r.Warn($"nothing to train: the checkpoint already has {s.Epochs} or more epochs");
        if (s.PlotPath != null)
        {
            if (history.Epochs.Count == 0) r.Warn("no epoch trained, no plot written");
            else
            {
                EnsureParent(s.PlotPath);
                CurvePlot.Save(s.PlotPath, history, $"{model} on Fashion-MNIST ({s.Backend}, {s.Precision})");
                r.Line($"plot: {s.PlotPath}");
            }
        }
        if (s.LogPath != null) r.Line($"log: {s.LogPath}");
        string? lastCheckpoint = checkpoints?.Written.LastOrDefault();
        if (lastCheckpoint != null) r.Line($"checkpoint: {lastCheckpoint}");
        if (s.Json) r.Out.WriteLine(Summary(s, model, data, result, history, lastCheckpoint).ToJsonString());
        return ExitCodes.Success;
    }

    private static JsonObject Summary(TrainSettings s, string model, FashionMnistData data, JobResult result, History history, string? checkpoint)
    {
        var epochs = new JsonArray();
        foreach (var (epoch, logs) in history.Epochs)
        {
            var row = new JsonObject { ["epoch"] = epoch + 1 };
            foreach (var (k, v) in logs) row[k] = Finite(v);
            epochs.Add(row);
        }
        return new JsonObject
        {
            ["command"] = "train",
            ["model"] = model,
            ["backend"] = s.Backend,
            ["precision"] = result.Precision,
            ["epochs"] = s.Epochs,
            ["train_images"] = data.Train.Count,
            ["test_images"] = data.Test.Count,
            ["parameters"] = result.Parameters,
            ["test_accuracy"] = Finite(result.TestAccuracy),
            ["test_loss"] = Finite(result.TestLoss),
            ["train_seconds"] = Finite(result.TrainSeconds),
            ["skipped_steps"] = result.SkippedSteps,
            ["history"] = epochs,
            ["checkpoint"] = checkpoint,
            ["plot"] = s.PlotPath,
            ["log"] = s.LogPath,
        };
    }

    // JSON has no NaN or infinity; a diverged run reports null.
    private static JsonNode? Finite(double v) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 6)) : null;

    private static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);

    private static void EnsureParent(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
    }
}
