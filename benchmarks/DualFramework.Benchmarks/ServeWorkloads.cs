using System.Diagnostics;
using System.Globalization;
using DualFramework.Backends;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Serving;
using Microsoft.ML.OnnxRuntime;

namespace DualFramework.Benchmarks;

/// <summary>
/// The "serve" suite (scripts/serve-bench.sh): the Fashion-MNIST CNN at batch 1 through the HTTP model server on loopback
/// against ONNX Runtime called in-process with the same session settings, in interleaved windows (requests/s and the ratio
/// per window; the median is reported), the JSON form and dynamic batching beside them; then the load-and-reload run:
/// p50/p99 latency with the clients steady and while the repository receives five new versions and a broken one.
/// </summary>
public static class ServeWorkloads
{
    /// <summary>Concurrent clients (and in-process threads): two per core keeps every core busy across network waits.</summary>
    private static readonly int Clients = 2 * Environment.ProcessorCount;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);
    private const string Model = "fmnist";

    public static int Run(int pairs, string hw) => RunAsync(pairs, hw).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(int pairs, string hw)
    {
        var dir = Directory.CreateTempSubdirectory("df-serve-bench-").FullName;
        try
        {
            var models = Enumerable.Range(1, 6).Select(seed => ExportCnn(seed, Path.Combine(dir, $"cnn{seed}.onnx"))).ToArray();
            var pixels = Image();
            var plain = Path.Combine(dir, "repo-plain");
            var batched = Path.Combine(dir, "repo-batched");
            foreach (var root in new[] { plain, batched }) Publish(root, 1, models[0]);

            var baseOptions = new ServingOptions { ModelRoot = plain, Port = 0, SettleTime = TimeSpan.Zero, MaxConcurrentRequests = 4 * Clients };
            await using var server = await ModelServer.StartAsync(baseOptions);
            await using var batching = await ModelServer.StartAsync(new ServingOptions
            {
                ModelRoot = batched,
                Port = 0,
                SettleTime = TimeSpan.Zero,
                MaxConcurrentRequests = 4 * Clients,
                Batching = new BatchingOptions { MaxBatch = 4 * Clients, MaxWait = TimeSpan.FromMicroseconds(500) },
            });
            using var client = new ServingClient(server.Address);
            using var batchClient = new ServingClient(batching.Address);
            using var sessionOptions = baseOptions.CreateSessionOptions();
            using var session = new InferenceSession(models[0], sessionOptions);
            var input = new NamedTensor("input", TensorDType.Float32, [1, 1, 28, 28], pixels);

            // Warm-up of every path (JIT, connections, ORT arenas).
            InProcess(session, pixels, TimeSpan.FromMilliseconds(500));
            await OverHttp(c => c.PredictBinaryAsync(Model, input), client, TimeSpan.FromMilliseconds(500));
            await OverHttp(c => c.PredictJsonAsync(Model, [input]), client, TimeSpan.FromMilliseconds(300));
            await OverHttp(c => c.PredictBinaryAsync(Model, input), batchClient, TimeSpan.FromMilliseconds(500));

            var rows = new List<(double InProc, double Binary, double Json, double Batched)>();
            // Batching at four times the clients too, where more requests wait to be joined.
            var many = new List<(double Plain, double Batched)>();
            for (int p = 0; p < pairs; p++)
            {
                double inProc = InProcess(session, pixels, Window);
                double binary = (await OverHttp(c => c.PredictBinaryAsync(Model, input), client, Window)).Rate;
                double json = (await OverHttp(c => c.PredictJsonAsync(Model, [input]), client, Window)).Rate;
                double batchedRate = (await OverHttp(c => c.PredictBinaryAsync(Model, input), batchClient, Window)).Rate;
                rows.Add((inProc, binary, json, batchedRate));
                many.Add(((await OverHttp(c => c.PredictBinaryAsync(Model, input), client, Window, 4 * Clients)).Rate,
                    (await OverHttp(c => c.PredictBinaryAsync(Model, input), batchClient, Window, 4 * Clients)).Rate));
            }
            double binaryRatio = Median(rows.Select(r => r.Binary / r.InProc)), jsonRatio = Median(rows.Select(r => r.Json / r.InProc));
            double batchedRatio = Median(rows.Select(r => r.Batched / r.InProc));
            var stats = batching.Repository.LiveVersions(Model)[0].BatchStatistics!.Value;
            Console.WriteLine(F($"batch-1 CNN, {Clients} concurrent clients, {pairs} interleaved windows of {Window.TotalSeconds:0.#} s (medians):"));
            Console.WriteLine(F($"  in-process ORT {Median(rows.Select(r => r.InProc)):F0} req/s; HTTP binary {Median(rows.Select(r => r.Binary)):F0} req/s ({binaryRatio:P0} of in-process); HTTP JSON {Median(rows.Select(r => r.Json)):F0} req/s ({jsonRatio:P0})"));
            Console.WriteLine(F($"  HTTP binary with dynamic batching (max {4 * Clients} rows, wait 0.5 ms) {Median(rows.Select(r => r.Batched)):F0} req/s ({batchedRatio:P0}); mean rows per run {(double)stats.Rows / stats.Runs:F2} (over both client counts)"));
            double manyRatio = Median(many.Select(m => m.Batched / m.Plain));
            Console.WriteLine(F($"  {4 * Clients} clients: HTTP binary {Median(many.Select(m => m.Plain)):F0} req/s, with dynamic batching {Median(many.Select(m => m.Batched)):F0} req/s (batched/plain {manyRatio:F2})"));

            // Load and reload: steady latencies, then latencies while five new versions and a broken one arrive.
            var reloadRoot = Path.Combine(dir, "repo-reload");
            Publish(reloadRoot, 1, models[0]);
            await using var reloading = await ModelServer.StartAsync(new ServingOptions
            {
                ModelRoot = reloadRoot,
                Port = 0,
                PollInterval = TimeSpan.FromMilliseconds(100),
                MaxConcurrentRequests = 4 * Clients,
                QueueTimeout = TimeSpan.FromSeconds(30),
            });
            using var reloadClient = new ServingClient(reloading.Address);
            await OverHttp(c => c.PredictBinaryAsync(Model, input), reloadClient, TimeSpan.FromMilliseconds(500));
            // Steady and reload windows alternate, so that the machine's other load falls on both alike: in each reload window
            // a new version (or the broken one) is written at its start and loaded while the clients run.
            var arrivals = new[] { (2L, 1), (3L, 2), (4L, -1), (5L, 3), (6L, 4), (7L, 5) };
            var reloadWindow = TimeSpan.FromSeconds(1.5);
            var steadyRuns = new List<Load>();
            var reloadRuns = new List<Load>();
            foreach (var (v, m) in arrivals)
            {
                steadyRuns.Add(await OverHttp(c => c.PredictBinaryAsync(Model, input), reloadClient, reloadWindow));
                var during = OverHttp(c => c.PredictBinaryAsync(Model, input), reloadClient, reloadWindow);
                if (m < 0) PublishBroken(reloadRoot, v, models[0]);
                else Publish(reloadRoot, v, models[m]);
                reloadRuns.Add(await during);
            }
            var steady = Combine(steadyRuns);
            var reload = Combine(reloadRuns);
            var history = reloading.Repository.History();
            int published = history.Count(e => e.Kind == VersionEventKind.Published) - 1, failed = history.Count(e => e.Kind == VersionEventKind.Failed);
            double p99Ratio = reload.P99 / steady.P99;
            Console.WriteLine(F($"load and reload, {Clients} clients, binary form, {arrivals.Length} alternating pairs of {reloadWindow.TotalSeconds:0.#} s windows: steady {steady.Count} requests, {steady.Rate:F0} req/s, p50 {steady.P50:F2} ms, p99 {steady.P99:F2} ms, {steady.Failures} failed"));
            Console.WriteLine(F($"  during reloads ({published} new versions published, {failed} broken refused): {reload.Count} requests, {reload.Rate:F0} req/s, p50 {reload.P50:F2} ms, p99 {reload.P99:F2} ms, {reload.Failures} failed; p99 ratio {p99Ratio:F2}"));
            Console.WriteLine(F($"{{\"suite\":\"serve\",\"clients\":{Clients},\"inprocess_rps\":{Median(rows.Select(r => r.InProc)):F0},\"http_binary_rps\":{Median(rows.Select(r => r.Binary)):F0},\"http_binary_ratio\":{binaryRatio:F4},\"http_json_ratio\":{jsonRatio:F4},\"http_batched_ratio\":{batchedRatio:F4},\"batched_vs_plain_{4 * Clients}_clients\":{manyRatio:F4},\"steady_p50_ms\":{steady.P50:F3},\"steady_p99_ms\":{steady.P99:F3},\"reload_p50_ms\":{reload.P50:F3},\"reload_p99_ms\":{reload.P99:F3},\"reload_p99_ratio\":{p99Ratio:F3},\"versions_published\":{published},\"versions_failed\":{failed},\"failed_requests\":{steady.Failures + reload.Failures},{hw}}}"));
            return steady.Failures + reload.Failures == 0 && published == 5 && failed == 1 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private sealed record Load(double[] Latencies, int Failures, double Seconds)
    {
        public int Count => Latencies.Length;
        public double Rate => Count / Seconds;
        public double P50 => Percentile(Latencies, 0.50);
        public double P99 => Percentile(Latencies, 0.99);
    }

    private static Load Combine(IEnumerable<Load> runs) =>
        new([.. runs.SelectMany(r => r.Latencies).Order()], runs.Sum(r => r.Failures), runs.Sum(r => r.Seconds));

    // Requests/s with every client calling back to back for the window; latencies in ms.
    private static async Task<Load> OverHttp(Func<ServingClient, Task<PredictResult>> call, ServingClient client, TimeSpan window, int? clients = null)
    {
        var latencies = new List<double>[clients ?? Clients];
        int failures = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, latencies.Length).Select(c => Task.Run(async () =>
        {
            var mine = latencies[c] = [];
            while (clock.Elapsed < window)
            {
                long start = Stopwatch.GetTimestamp();
                try { await call(client); }
                catch (Exception e) when (e is ServingException or HttpRequestException)
                {
                    Interlocked.Increment(ref failures);
                }
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        })));
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new Load(all, failures, clock.Elapsed.TotalSeconds);
    }

    // Requests/s of the same session called directly by as many threads (preallocated input and output per thread).
    private static double InProcess(InferenceSession session, float[] pixels, TimeSpan window)
    {
        long total = 0;
        var clock = Stopwatch.StartNew();
        var threads = Enumerable.Range(0, Clients).Select(_ => new Thread(() =>
        {
            using var run = new RunOptions();
            using var input = OrtValue.CreateTensorValueFromMemory(pixels, [1, 1, 28, 28]);
            using var output = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, [1, 10]);
            long n = 0;
            while (clock.Elapsed < window)
            {
                session.Run(run, ["input"], [input], ["output"], [output]);
                n++;
            }
            Interlocked.Add(ref total, n);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return total / clock.Elapsed.TotalSeconds;
    }

    private static string ExportCnn(int seed, string path)
    {
        using var scope = BackendRegistry.Use(BackendRegistry.Get("torch"));
        var rng = new SeededRandom(seed);
        using var cnn = new Sequential(new Conv2d(1, 32, 3, padding: 1, rng: rng), new ReLU(), new MaxPool2d(2),
            new Conv2d(32, 64, 3, padding: 1, rng: rng), new ReLU(), new MaxPool2d(2), new Flatten(),
            new Linear(64 * 7 * 7, 128, rng: rng), new ReLU(), new Linear(128, 10, rng: rng));
        cnn.Eval();
        using var tensors = TensorScope.Begin();
        ModuleExporter.Export(cnn, Tensor.FromArray(new float[784], new Shape(1, 1, 28, 28)), path);
        return path;
    }

    private static float[] Image()
    {
        var r = new Random(0);
        return Enumerable.Range(0, 784).Select(_ => (float)r.NextDouble()).ToArray();
    }

    // Written beside the version and renamed into place, as a deployment should.
    private static void Publish(string root, long version, string model) => PublishWith(root, version, dir => File.Copy(model, Path.Combine(dir, ModelRepository.ModelFileName)));

    private static void PublishBroken(string root, long version, string model) => PublishWith(root, version, dir =>
    {
        var bytes = File.ReadAllBytes(model);
        File.WriteAllBytes(Path.Combine(dir, ModelRepository.ModelFileName), bytes[..(bytes.Length / 2)]);
    });

    private static void PublishWith(string root, long version, Action<string> write)
    {
        var staging = Path.Combine(root, Model, $".incoming-{version}");
        Directory.CreateDirectory(staging);
        write(staging);
        Directory.Move(staging, Path.Combine(root, Model, version.ToString(CultureInfo.InvariantCulture)));
    }

    private static double Percentile(double[] sorted, double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];

    private static double Median(IEnumerable<double> xs) => Percentile(xs.Order().ToArray(), 0.5);

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
