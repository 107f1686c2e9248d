using System.Globalization;
using BenchmarkDotNet.Running;
using DualFramework.Benchmarks;

// `--ratio SUITE [--pairs N]`: quick interleaved ratio mode whose last stdout line is one JSON object.
// Anything else goes to BenchmarkDotNet (e.g. `--filter *Ops*`).
// `--memory-child KIND STEPS`: one loop of the memory suite, started by `--ratio memory` in a process of its own.
if (args.Length == 3 && args[0] == "--memory-child") return MemoryWorkloads.Child(args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
// `--long-run-child ENGINE MODEL STEPS`: one loop of the longrun suite (`--ratio longrun [--steps N] [--engines a,b] [--models a,b]`).
if (args.Length == 4 && args[0] == "--long-run-child") return LongRunWorkloads.Child(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture));
// `--allreduce-baseline-child`: the one-process CNN step of `--ratio allreduce`, started by its rank 0 outside MPI.
if (args.Length == 1 && args[0] == "--allreduce-baseline-child") return AllReduceWorkloads.BaselineChild();
int ratioAt = Array.IndexOf(args, "--ratio");
if (ratioAt >= 0)
{
    if (ratioAt + 1 >= args.Length)
    {
        Console.Error.WriteLine("--ratio needs a suite name (ops)");
        return 2;
    }
    int pairsAt = Array.IndexOf(args, "--pairs");
    int pairs = pairsAt >= 0 && pairsAt + 1 < args.Length ? int.Parse(args[pairsAt + 1], CultureInfo.InvariantCulture) : 21;
    if (args[ratioAt + 1] == "longrun")
    {
        string Option(string name, string fallback) => Array.IndexOf(args, name) is var at && at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
        return LongRunWorkloads.Run(int.Parse(Option("--steps", "10000"), CultureInfo.InvariantCulture),
            Option("--engines", "torch,graph,torch-compiled").Split(','), Option("--models", "mlp,cnn").Split(','));
    }
    return RatioMode.Run(args[ratioAt + 1], pairs);
}
BenchmarkSwitcher.FromAssembly(typeof(OpsBenchmarks).Assembly).Run(args);
return 0;
