using System.Globalization;
using DualFramework.Fuzz;
using DualFramework.Fuzz.Targets;

// Usage: DualFramework.Fuzz [--inputs N] [--seed S] [--loader onnx|safetensors|idx|all] [--first I] [--save DIR]
//        [--data DIR] [--node-tests DIR] [--no-resnet] [--time-bound SECONDS]
//        DualFramework.Fuzz --loader NAME --minimize CRASH_FILE --out SMALL_FILE
//        DualFramework.Fuzz --loader NAME --write-seeds DIR | --afl     (scripts/fuzz-afl.sh)
//        DualFramework.Fuzz --loader NAME --replay DIR                   (e.g. afl-fuzz's queue, under the bounds)
// Prints one JSON line per loader on stdout; each crash or hang goes to stderr (and to --save DIR as <loader>-<index>.bin).
// Exit code 1 when any input crashed or hung.
var opts = new Dictionary<string, string>(StringComparer.Ordinal);
for (int i = 0; i < args.Length; i++)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal)) return Usage($"unexpected argument '{args[i]}'");
    bool flag = args[i] is "--no-resnet" or "--verbose" or "--afl";
    opts[args[i][2..]] = flag ? "" : i + 1 < args.Length ? args[++i] : "";
}
int inputs = int.Parse(opts.GetValueOrDefault("inputs", "10000"), CultureInfo.InvariantCulture);
int seed = int.Parse(opts.GetValueOrDefault("seed", "0"), CultureInfo.InvariantCulture);
int first = int.Parse(opts.GetValueOrDefault("first", "0"), CultureInfo.InvariantCulture);
var loader = opts.GetValueOrDefault("loader", "all");
var save = opts.GetValueOrDefault("save");
var runner = new FuzzRunner
{
    TimeBound = TimeSpan.FromSeconds(double.Parse(opts.GetValueOrDefault("time-bound", "20"), CultureInfo.InvariantCulture)),
    OnInput = opts.ContainsKey("verbose") ? Verbose : null,
    ProgressEvery = int.Parse(opts.GetValueOrDefault("progress", "1000"), CultureInfo.InvariantCulture),
    OnProgress = r => Console.Error.WriteLine(
        $"{r.Loader}: {r.Inputs} inputs, {r.Crashes} crashes, {r.Hangs} hangs; managed heap {GC.GetGCMemoryInfo().HeapSizeBytes >> 20} MB, process {Environment.WorkingSet >> 20} MB"),
    OnFailure = f =>
    {
        Console.Error.WriteLine($"{f.Loader}: {f.Outcome} at input {f.Index}: {string.Join(Environment.NewLine + "    ", f.Detail.Split('\n').Take(6))}");
        if (save != null)
        {
            Directory.CreateDirectory(save);
            File.WriteAllBytes(Path.Combine(save, $"{f.Loader}-{f.Index}.bin"), f.Input);
        }
    },
};
if (opts.TryGetValue("write-seeds", out var seedDir))
{
    using var t = CreateTarget(loader, opts);
    Console.WriteLine($"{AflHarness.WriteSeeds(t, seedDir)} seeds in {seedDir}");
    return 0;
}
if (opts.ContainsKey("afl"))
{
    // Under afl-fuzz: no ResNet18 and no node-test seeds in memory (afl-fuzz brings the inputs).
    opts["no-resnet"] = "";
    AflHarness.Run(() => CreateTarget(loader, opts));
    return 0;
}
if (opts.TryGetValue("replay", out var replayDir))
{
    // --replay DIR --loader NAME: every file in DIR (e.g. afl-fuzz's queue) through the bounds and classification above.
    using var t = CreateTarget(loader, opts);
    var report = new FuzzReport(t.Name);
    foreach (var file in Directory.EnumerateFiles(replayDir).Order(StringComparer.Ordinal))
    {
        var input = File.ReadAllBytes(file);
        var (outcome, detail, ms, alloc) = runner.RunOne(t, input);
        report.Inputs++;
        if (outcome == Outcome.Valid) report.Valid++;
        else if (outcome == Outcome.Rejected) report.Rejected++;
        else report.Failures.Add(new FuzzFailure(t.Name, report.Inputs - 1, outcome, detail, input));
        report.MaxMs = Math.Max(report.MaxMs, outcome == Outcome.Hang ? 0 : ms);
        report.MaxAllocBytes = Math.Max(report.MaxAllocBytes, alloc);
        if (outcome is Outcome.Crash or Outcome.Hang) Console.Error.WriteLine($"{file}: {outcome}: {detail.Split('\n')[0]}");
    }
    Console.WriteLine(report.ToJson());
    return report.Failures.Count > 0 ? 1 : 0;
}
if (opts.TryGetValue("minimize", out var crashFile))
{
    // --minimize IN --out OUT --loader NAME: shrink one saved crash for the regression corpus.
    using var t = CreateTarget(loader, opts);
    var small = Minimizer.Minimize(runner, t, File.ReadAllBytes(crashFile));
    File.WriteAllBytes(opts["out"], small);
    Console.WriteLine($"{small.Length} bytes: {Minimizer.Signature(runner, t, small)}");
    return 0;
}
void Verbose(int index, Outcome outcome, double ms, byte[] input)
{
    Console.Error.WriteLine($"{index}\t{outcome}\t{ms:0.0} ms\t{input.Length} bytes");
    if (save != null) File.WriteAllBytes(Path.Combine(Directory.CreateDirectory(save).FullName, $"input-{index}.bin"), input);
}

var names = loader == "all" ? new[] { "onnx", "safetensors", "idx" } : [loader];
bool failed = false;
foreach (var name in names)
{
    using var target = CreateTarget(name, opts);
    var report = runner.Run(target, inputs, seed, first);
    Console.WriteLine(report.ToJson());
    failed |= report.Failures.Count > 0;
}
return failed ? 1 : 0;

static FuzzTarget CreateTarget(string name, Dictionary<string, string> opts) => name switch
{
    "onnx" => new OnnxTarget(opts.GetValueOrDefault("node-tests", OnnxTarget.DefaultNodeTests), opts.ContainsKey("no-resnet") ? null : OnnxTarget.FindResNet18()),
    "safetensors" => new SafeTensorsTarget(),
    "idx" => new IdxTarget(opts.GetValueOrDefault("data")),
    _ => throw new ArgumentException($"unknown loader '{name}' (onnx, safetensors, idx, all)"),
};

static int Usage(string problem)
{
    Console.Error.WriteLine($"{problem}\nusage: DualFramework.Fuzz [--inputs N] [--seed S] [--loader onnx|safetensors|idx|all] [--first I] [--save DIR] [--data DIR] [--node-tests DIR] [--no-resnet] [--time-bound SECONDS]");
    return 2;
}
