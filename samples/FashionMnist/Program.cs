// The main job: trains an MLP or a CNN on Fashion-MNIST with DualFramework and prints one JSON line last.
// dotnet run -c Release --project samples/FashionMnist -- [--backend torch|graph] [--model mlp|cnn] [--epochs N]
//     [--batch-size N] [--data DIR] [--seed N] [--strategy none|inprocess|mpi] [--replicas N]
//     [--precision float32|mixed_bfloat16|mixed_float16|bfloat16|float16] [--quantize static|dynamic|qat] [--prune SPARSITY] [--out DIR]
//     [--train-limit N] [--test-limit N] [--dropout P] [--checkpoint-dir DIR] [--checkpoint-every STEPS] [--resume] [--save-model FILE]
//     [--log-steps] [--terminate-on-nan]
// Data-parallel: mpirun --allow-run-as-root --oversubscribe -np 2 dotnet samples/FashionMnist/bin/Release/net10.0/FashionMnist.dll --strategy mpi
using System.Diagnostics;
using System.Globalization;
using DualFramework;
using DualFramework.Backends;
using DualFramework.Data;
using DualFramework.Distributed;
using DualFramework.Distributed.Mpi;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Samples.FashionMnist;
using DualFramework.Training;

string backend = BackendRegistry.NameFromEnvironmentVariable(), model = "cnn", strategyName = "none";
string? dataDir = null, precision = null, quantize = null, outDir = null, checkpointDir = null, saveModel = null;
double? prune = null;
int epochs = 2, batchSize = 64, replicas = 2;
int? trainLimit = null, testLimit = null;
long checkpointEvery = 0;
double dropout = 0;
bool resume = false, logSteps = false, terminateOnNan = false;
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
            case "--strategy": strategyName = Next(); break;
            case "--replicas": replicas = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--quantize": quantize = Next(); break;
            case "--prune": prune = double.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--out": outDir = Next(); break;
            case "--precision": precision = DualFramework.MixedPrecision.DTypePolicy.Parse(Next()).Name; break;
            case "--train-limit": trainLimit = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--test-limit": testLimit = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--dropout": dropout = double.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--checkpoint-dir": checkpointDir = Next(); break;
            case "--checkpoint-every": checkpointEvery = long.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--resume": resume = true; break;
            case "--save-model": saveModel = Next(); break;
            case "--log-steps": logSteps = true; break;
            case "--terminate-on-nan": terminateOnNan = true; break;
            case "-h" or "--help":
                Console.WriteLine("usage: FashionMnist [--backend torch|graph] [--model mlp|cnn] [--epochs N] [--batch-size N] [--data DIR] [--seed N] [--lr X]\n" +
                                  "                    [--strategy none|inprocess|mpi] [--replicas N (inprocess)]\n" +
                                  "                    [--precision float32|mixed_bfloat16|mixed_float16|bfloat16|float16] (default: DUALFRAMEWORK_PRECISION or float32)\n" +
                                  "                    [--quantize static|dynamic|qat] (INT8 ONNX after training, evaluated in ONNX Runtime)\n" +
                                  "                    [--prune SPARSITY] (e.g. 0.8, one epoch of fine-tuning; gzip sizes) [--out DIR]\n" +
                                  "                    [--train-limit N] [--test-limit N] (first N images) [--dropout P] (before the last layer)\n" +
                                  "                    [--checkpoint-dir DIR] [--checkpoint-every STEPS] (mid-epoch checkpoints, the last 2 kept; default: each epoch)\n" +
                                  "                    [--resume] (continue from the newest valid checkpoint in --checkpoint-dir) [--save-model FILE] (final weights)\n" +
                                  "                    [--log-steps] (a line per step) [--terminate-on-nan] (stop at the first non-finite loss)\n" +
                                  "  mpi: mpirun --allow-run-as-root --oversubscribe -np 2 dotnet FashionMnist.dll --strategy mpi");
                return 0;
            default: throw new ArgumentException($"unknown argument '{args[i]}'");
        }
    }
    if (epochs < 1 || batchSize < 1) throw new ArgumentException("--epochs and --batch-size must be positive");
    if (model is not ("mlp" or "cnn")) throw new ArgumentException($"unknown model '{model}' (mlp or cnn)");
    if (strategyName is not ("none" or "inprocess" or "mpi")) throw new ArgumentException($"unknown strategy '{strategyName}' (none, inprocess or mpi)");
    if (replicas < 1) throw new ArgumentException("--replicas must be positive");
    if (trainLimit < 1 || testLimit < 1) throw new ArgumentException("--train-limit and --test-limit must be positive");
    if (checkpointEvery < 0) throw new ArgumentException("--checkpoint-every must be positive");
    if ((checkpointEvery > 0 || resume) && checkpointDir == null) throw new ArgumentException("--checkpoint-every and --resume need --checkpoint-dir");
    if (!(dropout is >= 0 and < 1)) throw new ArgumentException("--dropout takes a rate in [0, 1)");
    if (quantize is not (null or "static" or "dynamic" or "qat")) throw new ArgumentException($"unknown quantization '{quantize}' (static, dynamic or qat)");
    if (prune is { } p && !(p is > 0 and < 1)) throw new ArgumentException("--prune takes a sparsity in (0, 1), e.g. 0.8");
    if (quantize != null && prune != null) throw new ArgumentException("--quantize and --prune are separate runs");
    if ((quantize != null || prune != null) && strategyName != "none") throw new ArgumentException("--quantize and --prune run with --strategy none");
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
    data = FashionMnistJob.Subset(FashionMnist.Load(dataDir), trainLimit, testLimit);
}
catch (FileNotFoundException e)
{
    Console.Error.WriteLine(e.Message);
    return 3;
}

var options = new JobOptions
{
    Backend = backend,
    Model = model,
    Epochs = epochs,
    BatchSize = batchSize,
    DataDir = dataDir,
    Seed = seed,
    LearningRate = lr,
    Precision = precision,
    Quantize = quantize,
    Prune = prune,
    OutputDir = outDir,
    Dropout = dropout,
    SaveModelTo = saveModel,
    Callbacks = RunCallbacks.Create(checkpointDir, checkpointEvery, logSteps, terminateOnNan, out var resumeFrom, resume),
};
options = options with { ResumeFrom = resumeFrom };
if (resumeFrom != null) Console.WriteLine($"resuming from {resumeFrom}");
JobResult r;
int worldSize = 1;
bool root = true;
switch (strategyName)
{
    case "mpi":
        {
            // Every rank runs this program; rank 0 alone prints. Failures on any rank abort the whole job (docs/distributed.md).
            using var comm = MpiCommunicator.Initialize();
            var dp = new DataParallel(comm);
            (worldSize, root) = (comm.Size, dp.IsRoot);
            if (root) Header();
            r = FashionMnistJob.Run(options with { Progress = root }, data, root ? Console.Out : null, dp);
            break;
        }
    case "inprocess":
        {
            worldSize = replicas;
            Header();
            r = InProcessGroup.Run(replicas, comm =>
            {
                var dp = new DataParallel(comm);
                return FashionMnistJob.Run(options with { Progress = dp.IsRoot }, data, dp.IsRoot ? Console.Out : null, dp);
            })[0];
            break;
        }
    default:
        Header();
        r = FashionMnistJob.Run(options, data, Console.Out);
        break;
}
if (!root) return 0;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test loss {r.TestLoss:F4}, test accuracy {r.TestAccuracy:F4}"));
if (r.Deploy is { } d)
{
    Console.WriteLine(d.Summary);
    Console.WriteLine(d.Kind == "prune"
        ? string.Create(CultureInfo.InvariantCulture, $"onnx runtime: dense accuracy {d.FloatAccuracy:F4} ({d.FloatBytes} bytes gzip), pruned accuracy {d.Accuracy:F4} ({d.Bytes} bytes gzip, {d.SizeRatio:P1})")
        : string.Create(CultureInfo.InvariantCulture, $"onnx runtime: float32 accuracy {d.FloatAccuracy:F4} ({d.FloatBytes} bytes), {d.Kind} int8 accuracy {d.Accuracy:F4} ({d.Bytes} bytes, {d.SizeRatio:P1})"));
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{{\"backend\":\"{backend}\",\"model\":\"{model}\",\"epochs\":{epochs},\"strategy\":\"{strategyName}\",\"world_size\":{worldSize},\"precision\":\"{r.Precision}\",\"skipped_steps\":{r.SkippedSteps},\"test_accuracy\":{r.TestAccuracy:F4},\"train_seconds\":{r.TrainSeconds:F1}{(r.TrainTraces > 0 ? $",\"train_traces\":{r.TrainTraces},\"eval_traces\":{r.EvalTraces}" : "")}{(r.Deploy is { } dj ? "," + dj.JsonFields : "")}}}"));
return 0;

void Header() =>
    Console.WriteLine($"backend {backend}, model {model}, {data.Train.Count} train / {data.Test.Count} test images, batch {batchSize}, seed {seed}, strategy {strategyName} ({worldSize} replica{(worldSize == 1 ? "" : "s")}), precision {precision ?? Precision.GlobalPolicy.Name}");
