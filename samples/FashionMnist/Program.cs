// The main job: trains an MLP or a CNN on Fashion-MNIST with DualFramework and prints one JSON line last.
// dotnet run -c Release --project samples/FashionMnist -- [--backend torch|graph] [--model mlp|cnn] [--epochs N]
//     [--batch-size N] [--data DIR] [--seed N]
using System.Diagnostics;
using System.Globalization;
using DualFramework;
using DualFramework.Backends;
using DualFramework.Data;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Samples.FashionMnist;
using DualFramework.Training;

string backend = BackendRegistry.NameFromEnvironmentVariable(), model = "cnn";
string? dataDir = null;
int epochs = 2, batchSize = 64;
long seed = 0;
double lr = 2e-3;
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        switch (args[i])
        {
            case "--backend": backend = Next(); break;
            case "--model": model = Next(); break;
            case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--batch-size": batchSize = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--data": dataDir = Next(); break;
            case "--seed": seed = long.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--lr": lr = double.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "-h" or "--help":
                Console.WriteLine("usage: FashionMnist [--backend torch|graph] [--model mlp|cnn] [--epochs N] [--batch-size N] [--data DIR] [--seed N] [--lr X]");
                return 0;
            default: throw new ArgumentException($"unknown argument '{args[i]}'");
        }
    }
    if (epochs < 1 || batchSize < 1) throw new ArgumentException("--epochs and --batch-size must be positive");
    if (model is not ("mlp" or "cnn")) throw new ArgumentException($"unknown model '{model}' (mlp or cnn)");
    BackendRegistry.Get(backend); // fail early on an unknown backend
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

FashionMnistData data;
try
{
    data = FashionMnist.Load(dataDir);
}
catch (FileNotFoundException e)
{
    Console.Error.WriteLine(e.Message);
    return 3;
}

Console.WriteLine($"backend {backend}, model {model}, {data.Train.Count} train / {data.Test.Count} test images, batch {batchSize}, seed {seed}");
var r = FashionMnistJob.Run(new JobOptions
{
    Backend = backend, Model = model, Epochs = epochs, BatchSize = batchSize, DataDir = dataDir, Seed = seed, LearningRate = lr,
}, data, Console.Out);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test loss {r.TestLoss:F4}, test accuracy {r.TestAccuracy:F4}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{{\"backend\":\"{backend}\",\"model\":\"{model}\",\"epochs\":{epochs},\"test_accuracy\":{r.TestAccuracy:F4},\"train_seconds\":{r.TrainSeconds:F1}}}"));
return 0;
