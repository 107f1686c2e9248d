using System.Diagnostics;
using System.Globalization;
using DualFramework.Backends;
using DualFramework.Losses;
using DualFramework.Optim;
using DualFramework.Training;
using TorchSharp;
using static TorchSharp.torch.nn;

namespace DualFramework.Benchmarks;

/// <summary>
/// The "memory" suite: peak resident memory (VmHWM) of the Fashion-MNIST CNN training loop (batch 64, Adam, a fresh
/// seeded batch per step as a data loader gives) in raw TorchSharp and through DualFramework on each backend. Peak RSS
/// belongs to a process, so each loop runs in a child process of this program (<c>--memory-child KIND STEPS</c>).
/// </summary>
public static class MemoryWorkloads
{
    private const int Batch = 64;

    /// <summary>Runs the three children and prints their peaks; the JSON line (with <paramref name="hardwareFields"/>) comes last.</summary>
    public static int Run(int steps, string hardwareFields)
    {
        var peaks = new Dictionary<string, double>();
        foreach (var kind in new[] { "raw", "torch", "graph" })
        {
            var (exit, last) = ChildRun.Run($"--memory-child {kind} {steps}");
            if (exit != 0 || !double.TryParse(last, NumberStyles.Float, CultureInfo.InvariantCulture, out var mb))
            {
                Console.Error.WriteLine($"memory child '{kind}' failed (exit {exit}): {last}");
                return 1;
            }
            peaks[kind] = mb;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{kind}: peak RSS {mb:F0} MB over {steps} CNN steps"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"suite\":\"memory\",\"steps\":{steps},\"raw_torch_peak_mb\":{peaks["raw"]:F0},\"torch_peak_mb\":{peaks["torch"]:F0},\"graph_peak_mb\":{peaks["graph"]:F0},\"torch_vs_raw\":{peaks["torch"] / peaks["raw"]:F3},\"graph_vs_raw\":{peaks["graph"] / peaks["raw"]:F3},{hardwareFields}}}"));
        return 0;
    }

    /// <summary>One loop in this process; prints its peak RSS in MB last.</summary>
    public static int Child(string kind, int steps)
    {
        BackendRegistry.Get("torch"); // natives (and the eager backend's allocator settings) as in any DualFramework process
        var rng = new Random(0);
        var labels = Enumerable.Range(0, Batch).Select(i => (long)(i % 10)).ToArray();
        float[] NextBatch() => Enumerable.Range(0, Batch * 784).Select(_ => (float)rng.NextDouble()).ToArray();
        if (kind == "raw")
        {
            torch.manual_seed(0);
            using var model = Sequential(Conv2d(1, 32, 3, padding: 1), ReLU(), MaxPool2d(2), Conv2d(32, 64, 3, padding: 1), ReLU(), MaxPool2d(2),
                Flatten(), Linear(64 * 7 * 7, 128), ReLU(), Linear(128, 10));
            var opt = torch.optim.Adam(model.parameters(), 1e-3);
            for (int s = 0; s < steps; s++)
            {
                using var scope = torch.NewDisposeScope();
                var x = torch.tensor(NextBatch(), [Batch, 1, 28, 28]);
                var y = torch.tensor(labels, [Batch]);
                opt.zero_grad();
                torch.nn.functional.cross_entropy(model.call(x), y).backward();
                opt.step();
            }
        }
        else
        {
            var backend = BackendRegistry.Get(kind);
            using var use = BackendRegistry.Use(backend);
            using var model = GraphWorkloads.Model("cnn", new DualFramework.NN.SeededRandom(0));
            using var opt = new Adam(model.Parameters(), 1e-3);
            var trainer = new Trainer(model);
            trainer.Compile(opt, new CrossEntropyLoss());
            for (int s = 0; s < steps; s++)
            {
                using var scope = TensorScope.Begin();
                trainer.TrainStep(Tensor.FromArray(NextBatch(), new Shape(Batch, 1, 28, 28)), Tensor.FromArray(labels, new Shape(Batch)));
            }
        }
        Console.WriteLine((Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0).ToString("F1", CultureInfo.InvariantCulture));
        return 0;
    }
}
