// Trains the Fashion-MNIST CNN briefly, exports it into a model repository as version 1, starts the model server in this
// process and classifies test images over HTTP; then trains one more epoch, drops version 2 into the repository and
// queries again while the server switches to it without a restart. Last stdout line: one JSON object. (docs/serving.md)
//   --data DIR      Fashion-MNIST IDX files (default /usr/share/datasets/fashion-mnist)
//   --images N      training images per epoch (default 6000)
//   --queries N     test images classified over HTTP per version (default 1000)
//   --root DIR      repository root (default: a temporary folder, removed at the end)
//   --port N        TCP port (default 0: any free port)
using System.Diagnostics;
using System.Globalization;
using DualFramework.Backends;
using DualFramework.Data;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Samples.FashionMnist;
using DualFramework.Serving;
using DualFramework.Training;

string Arg(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

var data = FashionMnist.Load(Arg("--data", FashionMnist.DefaultDirectory));
int images = int.Parse(Arg("--images", "6000"), CultureInfo.InvariantCulture);
int queries = Math.Min(int.Parse(Arg("--queries", "1000"), CultureInfo.InvariantCulture), data.Test.Count);
var root = Arg("--root", "");
if (root.Length == 0)
{
    // A repository of our own, removed when the sample ends.
    var temp = root = Directory.CreateTempSubdirectory("serve-fashion-mnist-").FullName;
    AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(temp, recursive: true);
}
const string ModelName = "fashion_mnist";

using var backend = BackendRegistry.Use(BackendRegistry.Get("torch"));
using var net = Models.Cnn(new SeededRandom(0));
using var optimizer = new Adam(net.Parameters(), 2e-3);
using var trainer = new Trainer(net);
trainer.Compile(optimizer, new CrossEntropyLoss(), [new Accuracy()]);
var train = data.Train.ToDataset().Shuffle(0).Take(images).Map(FashionMnistJob.Standardize).Batch(64).Prefetch(4);

void TrainAndPublish(long version)
{
    net.Train();
    trainer.Fit(train, 1);
    // Exported beside the repository's version folder, then renamed into it: the server never sees half a version.
    var staging = Path.Combine(root, ModelName, $".incoming-{version}");
    Directory.CreateDirectory(staging);
    Deployment.Export(net, data, Path.Combine(staging, ModelRepository.ModelFileName));
    File.WriteAllText(Path.Combine(staging, ModelRepository.MetadataFileName),
        string.Create(CultureInfo.InvariantCulture, $"{{\"model\": \"cnn\", \"epochs\": {version}, \"images_per_epoch\": {images}}}"));
    Directory.Move(staging, Path.Combine(root, ModelName, version.ToString(CultureInfo.InvariantCulture)));
    Console.WriteLine($"version {version}: trained {version} epoch(s) on {images} images, exported to {Path.Combine(root, ModelName, version.ToString(CultureInfo.InvariantCulture))}");
}

TrainAndPublish(1);
await using var server = await ModelServer.StartAsync(new ServingOptions
{
    ModelRoot = root,
    Port = int.Parse(Arg("--port", "0"), CultureInfo.InvariantCulture),
    PollInterval = TimeSpan.FromMilliseconds(200),
});
Console.WriteLine($"serving {root} on {server.Address}");
using var client = new ServingClient(server.Address);
Console.WriteLine($"GET {server.Address}v1/models/{ModelName}: {await client.Http.GetStringAsync($"v1/models/{ModelName}")}");

var pixels = FashionMnistJob.StandardizePixels(data.Test.ToFloatArray());
async Task<(long Version, double Accuracy, double Rps)> Classify()
{
    int correct = 0;
    long version = 0;
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < queries; i++)
    {
        var image = new NamedTensor("input", TensorDType.Float32, [1, 1, 28, 28], pixels.AsSpan(i * 784, 784).ToArray());
        var result = await client.PredictBinaryAsync(ModelName, image);
        version = result.Version;
        var logits = result.Outputs[0].As<float>();
        if (Array.IndexOf(logits, logits.Max()) == data.Test.Labels[i]) correct++;
    }
    return (version, (double)correct / queries, queries / clock.Elapsed.TotalSeconds);
}

var first = await Classify();
Console.WriteLine($"version {first.Version}: {first.Accuracy:P2} of {queries} test images over HTTP ({first.Rps:F0} requests/s, one client)");

TrainAndPublish(2);
var wait = Stopwatch.StartNew();
while (server.Repository.LiveVersions(ModelName).All(v => v.Version != 2) && wait.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(50);
var second = await Classify();
Console.WriteLine($"version {second.Version}: {second.Accuracy:P2} of {queries} test images over HTTP ({second.Rps:F0} requests/s), served {wait.Elapsed.TotalSeconds:F1} s after export without a restart");

var json = await client.PredictJsonAsync(ModelName, [new NamedTensor("input", TensorDType.Float32, [1, 1, 28, 28], pixels.AsSpan(0, 784).ToArray())]);
Console.WriteLine($"JSON form: version {json.Version}, logits [{string.Join(", ", json.Outputs[0].As<double>().Select(v => v.ToString("F2", CultureInfo.InvariantCulture)))}], label {data.Test.Labels[0]}");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{{\"model\":\"{ModelName}\",\"v1_accuracy\":{first.Accuracy:F4},\"v2_accuracy\":{second.Accuracy:F4},\"answered_by\":[{first.Version},{second.Version}],\"queries\":{queries},\"v2_rps_one_client\":{second.Rps:F0}}}"));
return second.Version == 2 ? 0 : 1;
