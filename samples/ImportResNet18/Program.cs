// Imports the pretrained ResNet18 (ONNX, from the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18) as a Module and
// adapts it to a few hundred Fashion-MNIST images (upsampled to 224×224, 3 channels), on either backend:
//   --mode finetune (default): Sequential(ResNet18, Flatten, BatchNorm1d, Linear) trained by the Trainer, with the last
//                              residual block and the head trainable and everything before it frozen;
//   --mode features:           frozen 512-d features of the whole network and a linear head on them;
//   --quantize static:         the features mode with the network also statically quantized to INT8 (calibrated on
//                              --calibration N training images): cosine similarity of the features and both accuracies.
// The last stdout line is one JSON object.
// dotnet run -c Release --project samples/ImportResNet18 -- [--mode finetune|features] [--backend torch|graph] [--train N]
//     [--test N] [--epochs N] [--data DIR] [--model PATH] [--quantize static [--calibration N] [--out DIR]]
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using DualFramework;
using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.Data;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Optim;
using DualFramework.Quantization;
using DualFramework.Training;

string backendName = BackendRegistry.NameFromEnvironmentVariable();
int trainCount = 300, testCount = 200, epochs = 6;
int calibrationCount = 100;
string mode = "finetune";
string? dataDir = null, modelPath = null, quantize = null, outDir = null;
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        switch (args[i])
        {
            case "--backend": backendName = Next(); break;
            case "--train": trainCount = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--test": testCount = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--data": dataDir = Next(); break;
            case "--mode": mode = Next(); break;
            case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--model": modelPath = Next(); break;
            case "--quantize": quantize = Next(); break;
            case "--calibration": calibrationCount = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--out": outDir = Next(); break;
            default: throw new ArgumentException($"unknown argument '{args[i]}'");
        }
    }
    if (trainCount < 10 || testCount < 1 || epochs < 1) throw new ArgumentException("--train must be at least 10, --test and --epochs at least 1");
    if (mode is not ("finetune" or "features")) throw new ArgumentException($"--mode must be finetune or features, got '{mode}'");
    if (quantize is not (null or "static")) throw new ArgumentException($"--quantize takes 'static', got '{quantize}'");
    if (quantize != null && args.Contains("--mode") && mode != "features") throw new ArgumentException("--quantize static quantizes the frozen feature extractor: it goes with --mode features");
    if (calibrationCount < 1 || calibrationCount > 60000) throw new ArgumentException("--calibration must be between 1 and 60000");
    BackendRegistry.SetDefault(backendName);
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

modelPath ??= FindResNet18();
if (modelPath == null || !File.Exists(modelPath))
{
    Console.Error.WriteLine("ResNet18.onnx not found: restore this project (it references Microsoft.ML.DnnImageFeaturizer.ResNet18) or pass --model PATH.");
    return 3;
}
FashionMnistData data;
try { data = FashionMnist.Load(dataDir); }
catch (FileNotFoundException e)
{
    Console.Error.WriteLine(e.Message);
    return 3;
}

var sw = Stopwatch.StartNew();
double[] means = [123.68, 116.78, 103.94];

// 28×28 grey → 224×224 (nearest) × 3 channels, 0–255 minus ImageNet channel means, as the featurizer's CNTK model expects.
void Preprocess(LabeledImages split, int n, Span<float> input)
{
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 224; y++)
            for (int x = 0; x < 224; x++)
                input[(c * 224 + y) * 224 + x] = (float)(split.Pixels[n * 784 + (y / 8) * 28 + x / 8] - means[c]);
}

return quantize != null ? QuantizedFeatures() : mode == "finetune" ? FineTune() : FrozenFeatures();

// The output of the second-to-last residual block (ReLU after its Add) in the CNTK export: everything after it — the last
// block's two convolutions and batch norms — is fine-tuned.
int FineTune()
{
    const string lastBlockInput = "ReLU379_Output_0";
    using var resnet = OnnxImporter.Load(modelPath, new OnnxImportOptions { BatchNormMomentum = 0.1 });
    var top = resnet.InitializersAfter(lastBlockInput);
    resnet.Freeze(n => !top.Contains(n));
    Console.WriteLine($"imported {Path.GetFileName(modelPath)}: {resnet.StateDict().Count} initializers, {resnet.Parameters().Count()} trainable (last block: {string.Join(", ", top)})");

    var rng = new SeededRandom(0);
    using var model = new Sequential(resnet, new Flatten(), new BatchNorm1d(512), new Linear(512, 10, rng: rng));
    Dataset<Batch> Images(LabeledImages split, int count, bool shuffle)
    {
        var x = new float[count * 3 * 224 * 224];
        for (int n = 0; n < count; n++) Preprocess(split, n, x.AsSpan(n * 3 * 224 * 224, 3 * 224 * 224));
        var examples = Dataset.FromArrays(x, [3, 224, 224], split.Labels[..count]);
        return (shuffle ? examples.Shuffle(1) : examples).Batch(25);
    }
    var train = Images(data.Train, trainCount, shuffle: true);
    var test = Images(data.Test, testCount, shuffle: false);

    using var opt = new Adam(model.Parameters(), 1e-3);
    using var trainer = new Trainer(model);
    trainer.Compile(opt, new CrossEntropyLoss(), [new Accuracy()]);
    var history = trainer.Fit(train, epochs);
    for (int e = 0; e < epochs; e++)
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {e}: loss {history["loss"][e]:F4}, train accuracy {history["accuracy"][e]:F4}, {history["epoch_seconds"][e]:F1} s"));
    double accuracy = trainer.Evaluate(test)["accuracy"];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fine-tuned last block + head: test accuracy {accuracy:F4}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{{\"backend\":\"{backendName}\",\"model\":\"resnet18_finetune_last_block+head\",\"train_images\":{trainCount},\"test_images\":{testCount},\"epochs\":{epochs},\"test_accuracy\":{accuracy:F4},\"seconds\":{sw.Elapsed.TotalSeconds:F1}}}"));
    return 0;
}

int FrozenFeatures()
{
    // Inference only: initializers as constants let the backend fold and pre-pack the weights.
    using var resnet = OnnxImporter.Load(modelPath, new OnnxImportOptions { InitializersAsConstants = true });
    Console.WriteLine($"imported {Path.GetFileName(modelPath)}: input {resnet.InputSpecs[0]}, output {resnet.OutputSpecs[0]}, {resnet.Graph.Nodes.Count} nodes");
    var trainX = Features(resnet, data.Train, trainCount);
    var testX = Features(resnet, data.Test, testCount);
    Console.WriteLine($"features: {trainCount} train + {testCount} test images in {sw.Elapsed.TotalSeconds:F1} s");
    var (accuracy, lastLoss) = FitHead(trainX, testX);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"head: final train loss {lastLoss:F4}, test accuracy {accuracy:F4}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{{\"backend\":\"{backendName}\",\"model\":\"resnet18_features+linear\",\"train_images\":{trainCount},\"test_images\":{testCount},\"test_accuracy\":{accuracy:F4},\"seconds\":{sw.Elapsed.TotalSeconds:F1}}}"));
    return 0;
}

// Static INT8 quantization of the feature extractor: the imported model is exported at the exporter's opset (Conv+BatchNorm
// folded), calibrated on the first --calibration training images and rewritten to QDQ; the int8 file is imported again and
// runs on the chosen backend. Features of both models feed the same head fit, so the two accuracies come from one run.
int QuantizedFeatures()
{
    string folder = outDir ?? Path.Combine(Path.GetTempPath(), $"df-resnet18-int8-{Environment.ProcessId}");
    Directory.CreateDirectory(folder);
    string floatPath = Path.Combine(folder, "resnet18-fp32.onnx"), int8Path = Path.Combine(folder, "resnet18-int8.onnx");
    QuantizationResult result;
    float[] trainF, testF;
    using (var resnet = OnnxImporter.Load(modelPath, new OnnxImportOptions { InitializersAsConstants = true }))
    {
        using (TensorScope.Begin())
            ModuleExporter.Export(resnet, Tensor.FromArray(new float[3 * 224 * 224], new Shape(1, 3, 224, 224)), floatPath,
                new ModuleExportOptions { DynamicBatch = false }); // the CNTK model's input is 1×3×224×224 (its padding blocks too)
        var calibration = Enumerable.Range(0, calibrationCount).Select(n =>
        {
            var image = new float[3 * 224 * 224];
            Preprocess(data.Train, n, image);
            return image;
        });
        result = Quantizer.QuantizeStatic(floatPath, int8Path, calibration, new StaticQuantizationOptions { CalibrationBatchSize = 1 });
        Console.WriteLine(result.Summary);
        trainF = Features(resnet, data.Train, trainCount);
        testF = Features(resnet, data.Test, testCount);
    }
    using var int8 = OnnxImporter.Load(int8Path, new OnnxImportOptions { InitializersAsConstants = true });
    var trainQ = Features(int8, data.Train, trainCount);
    var testQ = Features(int8, data.Test, testCount);

    // Cosine similarity of each image's 512-d int8 features with its float32 features.
    var cosines = new double[trainCount + testCount];
    for (int n = 0; n < cosines.Length; n++)
    {
        var (f, q, i) = n < trainCount ? (trainF, trainQ, n) : (testF, testQ, n - trainCount);
        double dot = 0, ff = 0, qq = 0;
        for (int j = 0; j < 512; j++)
        {
            double a = f[i * 512 + j], b = q[i * 512 + j];
            dot += a * b;
            ff += a * a;
            qq += b * b;
        }
        cosines[n] = dot / Math.Max(Math.Sqrt(ff * qq), 1e-30);
    }
    var (floatAccuracy, _) = FitHead(trainF, testF);
    var (int8Accuracy, _) = FitHead(trainQ, testQ);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"features' cosine similarity int8 vs float32 over {cosines.Length} images: mean {cosines.Average():F4}, min {cosines.Min():F4}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"linear head: float32 features {floatAccuracy:F4}, int8 features {int8Accuracy:F4} (drop {(floatAccuracy - int8Accuracy) * 100:F1} points); files {result.FloatBytes} → {result.QuantizedBytes} bytes ({result.SizeRatio:P1}) in {folder}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{{\"backend\":\"{backendName}\",\"model\":\"resnet18_int8_features+linear\",\"format\":\"{result.Choice.Format}\",\"calibration_images\":{calibrationCount},\"train_images\":{trainCount},\"test_images\":{testCount},\"cosine_mean\":{cosines.Average():F4},\"cosine_min\":{cosines.Min():F4},\"fp32_accuracy\":{floatAccuracy:F4},\"int8_accuracy\":{int8Accuracy:F4},\"size_ratio\":{result.SizeRatio:F4},\"seconds\":{sw.Elapsed.TotalSeconds:F1}}}"));
    return 0;
}

float[] Features(ImportedModel model, LabeledImages split, int count)
{
    var result = new float[count * 512];
    var input = new float[3 * 224 * 224];
    for (int n = 0; n < count; n++)
    {
        Preprocess(split, n, input);
        using var s = TensorScope.Begin();
        var outputs = model.Run(Tensor.FromArray(input, new Shape(1, 3, 224, 224)));
        outputs[0].ToFloatArray().CopyTo(result, n * 512);
    }
    return result;
}

// Standardises the features with the training statistics, then fits a linear head with Adam (full batch, 200 steps).
(double Accuracy, double LastLoss) FitHead(float[] trainFeatures, float[] testFeatures)
{
    var trainX = (float[])trainFeatures.Clone();
    var testX = (float[])testFeatures.Clone();
    var mean = new double[512];
    var std = new double[512];
    for (int j = 0; j < 512; j++)
    {
        for (int n = 0; n < trainCount; n++) mean[j] += trainX[n * 512 + j] / trainCount;
        for (int n = 0; n < trainCount; n++) std[j] += Math.Pow(trainX[n * 512 + j] - mean[j], 2) / trainCount;
        std[j] = Math.Sqrt(std[j]) + 1e-6;
    }
    void Standardize(float[] x, int count)
    {
        for (int n = 0; n < count; n++)
            for (int j = 0; j < 512; j++) x[n * 512 + j] = (float)((x[n * 512 + j] - mean[j]) / std[j]);
    }
    Standardize(trainX, trainCount);
    Standardize(testX, testCount);

    using var head = new Linear(512, 10, rng: new SeededRandom(0));
    using var opt = new Adam(head.Parameters(), 1e-2);
    var loss = new CrossEntropyLoss();
    using var root = TensorScope.Begin();
    var xTrain = Tensor.FromArray(trainX, new Shape(trainCount, 512));
    var yTrain = Tensor.FromArray(data.Train.Labels[..trainCount], new Shape(trainCount));
    var xTest = Tensor.FromArray(testX, new Shape(testCount, 512));
    var yTest = Tensor.FromArray(data.Test.Labels[..testCount], new Shape(testCount));
    double lastLoss = 0;
    for (int step = 0; step < 200; step++)
    {
        using var s = TensorScope.Begin();
        opt.ZeroGrad();
        var l = loss.Compute(head.Call(xTrain), yTrain);
        l.Backward();
        opt.Step();
        lastLoss = l.Item();
    }
    using var _ = Autograd.NoGrad();
    var predicted = Ops.ArgMax(head.Eval().Call(xTest), 1);
    return (Ops.Mean(Ops.Cast(Ops.Equal(predicted, yTest), DType.Float32)).Item(), lastLoss);
}

static string? FindResNet18()
{
    const string relative = "tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx";
    var dir = Assembly.GetExecutingAssembly().GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "ResNet18PackagePath")?.Value;
    if (!string.IsNullOrEmpty(dir) && File.Exists(Path.Combine(dir, relative))) return Path.Combine(dir, relative);
    var cache = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
        "microsoft.ml.dnnimagefeaturizer.resnet18", "0.23.1", relative);
    return File.Exists(cache) ? cache : null;
}
