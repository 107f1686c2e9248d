// A character-level LSTM (the next character from the previous 32) trained on the license texts every Debian system ships
// (/usr/share/common-licenses), on the eager and the graph backend from the same seed; compares their loss curves, exports
// the eager model to ONNX and checks ONNX Runtime's logits against it, then writes a little generated text.
// Usage: dotnet run -c Release --project samples/TextLstm -- [--backends torch,graph] [--steps 300] [--batch 64] [--seq 32]
//        [--hidden 128] [--embedding 32] [--layers 1] [--lr 0.003] [--seed 0] [--text DIR] [--out DIR] [--generate 200]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using DualFramework;
using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.Data;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Optim;
using DualFramework.Samples.TextLstm;
using DualFramework.Training;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = DualFramework.Tensor;

string[] backends = ["torch", "graph"];
int steps = 300, batch = 64, seq = 32, hidden = 128, embedding = 32, layers = 1, seed = 0, generate = 200;
double lr = 3e-3;
string text = Corpus.DefaultFolder, outDir = Path.Combine(Path.GetTempPath(), $"dualframework-textlstm-{Environment.ProcessId}");
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--backends": backends = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
        case "--steps": steps = Int(); break;
        case "--batch": batch = Int(); break;
        case "--seq": seq = Int(); break;
        case "--hidden": hidden = Int(); break;
        case "--embedding": embedding = Int(); break;
        case "--layers": layers = Int(); break;
        case "--seed": seed = Int(); break;
        case "--generate": generate = Int(); break;
        case "--lr": lr = double.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--text": text = Next(); break;
        case "--out": outDir = Next(); break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'");
            return 2;
    }
}

var corpus = new Corpus(text);
int split = corpus.Ids.Length * 9 / 10;
Console.WriteLine($"{corpus.Files.Count} files, {corpus.Ids.Length:N0} characters, vocabulary {corpus.Vocabulary.Length}");
// Windows start every 3 characters in the first 90% (training), every 16 in the rest (validation).
var train = corpus.Windows(seq, 3, 0, split).Shuffle(seed).Batch(batch, dropLast: true).Take(steps);
var validation = corpus.Windows(seq, 16, split, corpus.Ids.Length).Batch(256);

var runs = new Dictionary<string, (List<(long Step, double Loss)> Curve, IReadOnlyDictionary<string, double> Eval, double Seconds, CharModel Net)>();
foreach (var name in backends)
{
    var backend = BackendRegistry.Get(name);
    using var use = BackendRegistry.Use(backend);
    var net = new CharModel(corpus.Vocabulary.Length, embedding, hidden, layers, new SeededRandom(seed));
    using var optimizer = new Adam(net.Parameters(), lr);
    var trainer = new Trainer(net);
    trainer.Compile(optimizer, new CrossEntropyLoss(), [new Accuracy()]);
    var curve = new LossCurve(10);
    var sw = Stopwatch.StartNew();
    trainer.Fit(train, 1, callbacks: [curve]);
    double seconds = sw.Elapsed.TotalSeconds;
    var eval = trainer.Evaluate(validation);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name}: {steps} steps in {seconds:F1} s ({1000 * seconds / steps:F1} ms/step), running loss {curve.Points[^1].Loss:F4}, validation loss {eval["loss"]:F4}, accuracy {eval["accuracy"]:F4}"));
    runs[name] = (curve.Points, eval, seconds, net);
}

Directory.CreateDirectory(outDir);
var first = runs[backends[0]];
double curveGap = 0;
foreach (var name in backends.Skip(1))
    curveGap = Math.Max(curveGap, first.Curve.Zip(runs[name].Curve, (a, b) => Math.Abs(a.Loss - b.Loss)).DefaultIfEmpty().Max());
using (var csv = new StreamWriter(Path.Combine(outDir, "loss_curves.csv")))
{
    csv.WriteLine("step," + string.Join(',', backends));
    for (int k = 0; k < first.Curve.Count; k++)
        csv.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{first.Curve[k].Step},{string.Join(',', backends.Select(b => runs[b].Curve[k].Loss.ToString("R", CultureInfo.InvariantCulture)))}"));
}
if (backends.Length > 1) Console.WriteLine($"loss curves ({first.Curve.Count} points every 10 steps): largest difference {curveGap:G3}");

// Deployment: the first backend's model as ONNX, run by ONNX Runtime on validation windows.
var model = first.Net;
string onnxPath = Path.Combine(outDir, "text_lstm.onnx");
using (BackendRegistry.Use(BackendRegistry.Get(backends[0])))
using (TensorScope.Begin())
    ModuleExporter.Export(model, Tensor.FromArray(new float[seq], new Shape(1, seq)), onnxPath);
var probe = corpus.Windows(seq, 97, split, corpus.Ids.Length).Batch(32).First();
double onnxGap;
using (BackendRegistry.Use(BackendRegistry.Get(backends[0])))
using (TensorScope.Begin())
using (Autograd.NoGrad())
{
    model.Eval();
    var want = model.Forward(Tensor.FromArray(probe.Features, probe.FeatureShape)).ToFloatArray();
    using var session = new InferenceSession(onnxPath);
    var input = new DenseTensor<float>(probe.Features, probe.FeatureShape.ToArray().Select(d => (int)d).ToArray());
    using var outputs = session.Run([NamedOnnxValue.CreateFromTensor(session.InputNames[0], input)]);
    var got = outputs[0].AsTensor<float>().ToArray();
    onnxGap = want.Zip(got, (a, b) => (double)Math.Abs(a - b)).Max();
}
Console.WriteLine($"ONNX export {onnxPath} ({new FileInfo(onnxPath).Length:N0} bytes): ONNX Runtime's logits on {probe.Size} windows within {onnxGap:G3} of {backends[0]}'s");

// Text from the trained model: temperature 0.7, seeded.
string prompt = "This program is free software; you can redistribute it ";
var sb = new StringBuilder(prompt);
var rng = new Random(seed);
using (BackendRegistry.Use(BackendRegistry.Get(backends[0])))
using (Autograd.NoGrad())
{
    for (int k = 0; k < generate; k++)
    {
        using var scope = TensorScope.Begin();
        var window = corpus.Encode(sb.ToString(sb.Length - seq, seq)).Select(id => (float)id).ToArray();
        var logits = model.Forward(Tensor.FromArray(window, new Shape(1, seq))).ToFloatArray();
        sb.Append(corpus.Vocabulary[Sample(logits, 0.7, rng)]);
    }
}
Console.WriteLine($"generated: {sb}");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{{\"sample\":\"text_lstm\",\"steps\":{steps},\"batch\":{batch},\"seq\":{seq},\"hidden\":{hidden},{string.Join(",", backends.Select(b => $"\"{b}\":{{\"final_running_loss\":{runs[b].Curve[^1].Loss:F5},\"val_loss\":{runs[b].Eval["loss"]:F5},\"val_accuracy\":{runs[b].Eval["accuracy"]:F4},\"seconds\":{runs[b].Seconds:F2}}}"))},\"curve_max_abs_diff\":{curveGap:G4},\"onnx_max_abs_diff\":{onnxGap:G4}}}"));
return 0;

// Index drawn from softmax(logits / temperature).
static int Sample(float[] logits, double temperature, Random rng)
{
    double max = logits.Max();
    var p = logits.Select(l => Math.Exp((l - max) / temperature)).ToArray();
    double u = rng.NextDouble() * p.Sum();
    for (int i = 0; i < p.Length; i++)
        if ((u -= p[i]) <= 0) return i;
    return p.Length - 1;
}

/// <summary>Records the trainer's running mean loss every <c>every</c> steps.</summary>
internal sealed class LossCurve(int every) : Callback
{
    /// <summary>The recorded points.</summary>
    public List<(long Step, double Loss)> Points { get; } = [];

    /// <inheritdoc />
    public override void OnBatchEnd(Trainer trainer, long step, IReadOnlyDictionary<string, double> logs)
    {
        if (step % every == 0) Points.Add((step, logs["loss"]));
    }
}
