using System.CommandLine;
using DualFramework.Tools.Dualfx.Output;
using DualFramework.Tools.Dualfx.Training;
using static DualFramework.Tools.Dualfx.Commands.OptionFactory;

namespace DualFramework.Tools.Dualfx.Commands;

/// <summary><c>dualfx train</c>: the Fashion-MNIST sample's job with checkpoints, curves, a CSV log and a JSON summary.</summary>
internal static class TrainCommand
{
    public static Command Create(Reporter reporter)
    {
        var model = new Option<string?>("--model") { Description = "mlp or cnn (default: the resumed checkpoint's model, else cnn)" };
        model.AcceptOnlyFromAmong("mlp", "cnn");
        var backend = Choice("--backend", "Compute backend", "torch", "torch", "graph");
        var precision = Choice("--precision", "Dtype policy", "float32", "float32", "mixed_bfloat16", "mixed_float16");
        var epochs = WithDefault("--epochs", "Training epochs (in all, counting those of a resumed checkpoint)", 2);
        var batchSize = WithDefault("--batch-size", "Batch size", 64);
        var lr = WithDefault("--lr", "Peak learning rate (Adam, cosine decay)", 2e-3);
        var seed = WithDefault("--seed", "Seed of weights and data order", 0L);
        var data = Optional<string>("--data", "Folder of the Fashion-MNIST IDX files (default /usr/share/datasets/fashion-mnist)");
        var trainLimit = Optional<int?>("--train-limit", "Train on the first N training images only");
        var testLimit = Optional<int?>("--test-limit", "Validate and test on the first N test images only");
        var checkpoint = Optional<string>("--checkpoint", "Folder to save a checkpoint to after each epoch (epoch-N.safetensors)");
        var resume = Optional<string>("--resume", "Checkpoint file, or folder whose latest epoch-N.safetensors is resumed");
        var plot = Optional<string>("--plot", "PNG file of loss and accuracy per epoch (train and validation)");
        var log = Optional<string>("--log", "CSV file with one row per epoch");
        var json = new Option<bool>("--json") { Description = "Print a JSON summary as the last line" };
        var command = new Command("train", "Train the Fashion-MNIST MLP or CNN")
        {
            model, backend, precision, epochs, batchSize, lr, seed, data, trainLimit, testLimit, checkpoint, resume, plot, log, json,
        };
        command.SetAction(p => TrainingRun.Run(new TrainSettings
        {
            Model = p.GetValue(model),
            Backend = p.GetValue(backend)!,
            Precision = p.GetValue(precision)!,
            Epochs = Positive(p.GetValue(epochs), "--epochs"),
            BatchSize = Positive(p.GetValue(batchSize), "--batch-size"),
            LearningRate = p.GetValue(lr) is > 0 and var x ? x : throw new UserErrorException("--lr must be positive", ExitCodes.Usage),
            Seed = p.GetValue(seed),
            DataDir = p.GetValue(data),
            TrainLimit = p.GetValue(trainLimit) is { } t ? Positive(t, "--train-limit") : null,
            TestLimit = p.GetValue(testLimit) is { } v ? Positive(v, "--test-limit") : null,
            CheckpointDir = p.GetValue(checkpoint),
            Resume = p.GetValue(resume) is { } r ? MustExist(r) : null,
            PlotPath = p.GetValue(plot),
            LogPath = p.GetValue(log),
            Json = p.GetValue(json),
        }, reporter));
        return command;
    }
}
