using System.Diagnostics;
using System.Globalization;
using DualFramework.Backends;
using DualFramework.Losses;
using DualFramework.Optim;
using DualFramework.Training;

namespace DualFramework.Benchmarks;

/// <summary>
/// The "longrun" suite (docs/reliability.md, "Long runs"): many training steps of the MLP and the CNN (batch 64, Adam, a
/// fresh seeded batch per step as a data loader gives) on each engine, with resident memory (VmRSS) and the managed heap
/// sampled along the way. Each loop runs in a child process (<c>--long-run-child ENGINE MODEL STEPS</c>) so that one
/// loop's allocator state does not carry into the next. Engines: <c>torch</c> (eager), <c>graph</c> (the compiled train
/// step on ONNX Runtime), <c>torch-compiled</c> (the compiled step run by the eager backend).
/// </summary>
public static class LongRunWorkloads
{
    private const int Batch = 64;

    /// <summary>Warm-up: the first tenth of the steps (allocator caches, tiered JIT, ORT arenas fill up).</summary>
    public static int WarmupSteps(int steps) => Math.Max(1, steps / 10);

    /// <summary>Runs every (model, engine) child and prints one line each; the JSON line comes last.</summary>
    public static int Run(int steps, IReadOnlyList<string> engines, IReadOnlyList<string> models)
    {
        string hw = Hardware.JsonFields(Hardware.PrintLine());
        var fields = new List<string>();
        double worst = 0;
        foreach (var model in models)
            foreach (var engine in engines)
            {
                var (exit, last) = ChildRun.Run($"--long-run-child {engine} {model} {steps}");
                var v = last.Split(' ');
                if (exit != 0 || v.Length != 6)
                {
                    Console.Error.WriteLine($"long-run child '{engine} {model}' failed (exit {exit}): {last}");
                    return 1;
                }
                double D(int i) => double.Parse(v[i], CultureInfo.InvariantCulture);
                double rssWarm = D(0), rssEnd = D(1), rssMax = D(2), heapWarm = D(3), heapEnd = D(4), msPerStep = D(5);
                double growth = (rssEnd - rssWarm) / rssWarm * 100, maxGrowth = (rssMax - rssWarm) / rssWarm * 100;
                worst = Math.Max(worst, maxGrowth);
                Console.WriteLine(F($"{model} {engine}: {steps} steps, {msPerStep:F1} ms/step; RSS after warm-up {rssWarm:F1} MB, at the end {rssEnd:F1} MB ({growth:+0.00;-0.00}%), highest {rssMax:F1} MB ({maxGrowth:+0.00;-0.00}%); managed heap {heapWarm:F2} -> {heapEnd:F2} MB"));
                string key = $"{model}_{engine.Replace('-', '_')}";
                fields.Add(F($"\"{key}_rss_growth_pct\":{growth:F2},\"{key}_rss_max_growth_pct\":{maxGrowth:F2},\"{key}_heap_growth_mb\":{heapEnd - heapWarm:F2}"));
            }
        Console.WriteLine(F($"{{\"suite\":\"longrun\",\"steps\":{steps},\"warmup_steps\":{WarmupSteps(steps)},{string.Join(",", fields)},\"worst_rss_growth_pct\":{worst:F2},{hw}}}"));
        return 0;
    }

    /// <summary>One loop in this process; prints "rssWarm rssEnd rssMax heapWarm heapEnd msPerStep" (MB, ms) last.</summary>
    public static int Child(string engine, string model, int steps)
    {
        if (engine is not ("torch" or "graph" or "torch-compiled")) throw new ArgumentException($"unknown engine '{engine}' (torch, graph, torch-compiled)");
        BackendRegistry.Get("torch"); // natives (and the eager backend's allocator settings) as in any DualFramework process
        var backend = BackendRegistry.Get(engine == "graph" ? "graph" : "torch");
        using var use = BackendRegistry.Use(backend);
        var rng = new Random(0);
        var labels = Enumerable.Range(0, Batch).Select(i => (long)(i % 10)).ToArray();
        var pixels = new float[Batch * 784];
        using var net = GraphWorkloads.Model(model, new DualFramework.NN.SeededRandom(0));
        using var opt = new Adam(net.Parameters(), 1e-3);
        using var trainer = new Trainer(net) { CompileSteps = engine != "torch" };
        trainer.Compile(opt, new CrossEntropyLoss());
        int warmup = WarmupSteps(steps), every = Math.Max(1, steps / 200);
        double rssWarm = 0, rssMax = 0, heapWarm = 0;
        var sw = new Stopwatch();
        for (int s = 1; s <= steps; s++)
        {
            for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)rng.NextDouble();
            using (TensorScope.Begin())
                trainer.TrainStep(Tensor.FromArray(pixels, new Shape(Batch, 1, 28, 28)), Tensor.FromArray(labels, new Shape(Batch)));
            if (s == warmup)
            {
                heapWarm = HeapMb();
                rssWarm = RssMb();
                sw.Start();
            }
            else if (s > warmup && s % every == 0) rssMax = Math.Max(rssMax, RssMb());
        }
        sw.Stop();
        double heapEnd = HeapMb(), rssEnd = RssMb();
        rssMax = Math.Max(rssMax, rssEnd);
        Console.WriteLine(F($"{rssWarm:F2} {rssEnd:F2} {rssMax:F2} {heapWarm:F3} {heapEnd:F3} {sw.Elapsed.TotalMilliseconds / Math.Max(1, steps - warmup):F2}"));
        return 0;
    }

    // The managed heap after a full, compacting collection (what is still referenced, not garbage awaiting collection).
    private static double HeapMb()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true) / 1048576.0;
    }

    private static double RssMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        throw new InvalidOperationException("VmRSS not found in /proc/self/status");
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
