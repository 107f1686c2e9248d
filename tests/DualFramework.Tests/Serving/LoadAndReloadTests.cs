using System.Diagnostics;
using DualFramework.Serving;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Serving;

/// <summary>
/// The issue's load-and-reload test, bounded for CI: concurrent clients send a fixed count of requests over loopback while the
/// repository receives five new versions and one broken one. No request may fail, every answer must come from a version
/// that was live while its request ran (and carry that version's logits), the broken version is never served, and every
/// retired version is disposed once drained. scripts/serve-bench.sh runs a longer version and reports the latencies.
/// </summary>
[TestFixture]
[NonParallelizable]
public class LoadAndReloadTests
{
    private const int Clients = 8;
    private const int Requests = 2400;
    private const int Images = 8;
    // Version → seed of its weights; version 4 is a truncated model.onnx.
    private static readonly (long Version, int Seed)[] NewVersions = [(2, 2), (3, 3), (4, -1), (5, 5), (6, 6), (7, 7)];

    private sealed record Answer(int Image, long Start, long End, long Version, float[] Logits, string? Error);

    [Test]
    public async Task Hot_reload_under_load_drops_no_request()
    {
        var root = ServingModels.NewRoot();
        var images = Enumerable.Range(0, Images).Select(ServingModels.Image).ToArray();
        // Expected logits per version, from in-process ONNX Runtime (this also exports every model before the clock starts).
        var expected = new Dictionary<long, float[][]> { [1] = images.Select(i => ServingModels.Expected(1, i)).ToArray() };
        foreach (var (v, seed) in NewVersions.Where(n => n.Seed > 0)) expected[v] = images.Select(i => ServingModels.Expected(seed, i)).ToArray();
        ServingModels.WriteVersion(root, 1, seed: 1);

        await using var server = await ModelServer.StartAsync(new ServingOptions
        {
            ModelRoot = root,
            Port = 0,
            PollInterval = TimeSpan.FromMilliseconds(50),
            MaxConcurrentRequests = Clients,
            QueueTimeout = TimeSpan.FromSeconds(30),
        });
        using var client = new ServingClient(server.Address);
        var repo = server.Repository;
        var settled = new Dictionary<long, TaskCompletionSource>();
        foreach (var (v, _) in NewVersions) settled[v] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        repo.Changed += e =>
        {
            if (e.Kind is VersionEventKind.Published or VersionEventKind.Failed && settled.TryGetValue(e.Version, out var t)) t.TrySetResult();
        };

        // Warm the connections, then take the memory baseline with version 1 live.
        for (int i = 0; i < Clients * 4; i++) await client.PredictBinaryAsync(ServingModels.Model, ServingModels.Input(images[i % Images]));
        long baseline = SettledResidentBytes();

        int issued = 0, completed = 0;
        var answers = new Answer[Requests];
        async Task ClientLoop()
        {
            int n;
            while ((n = Interlocked.Increment(ref issued) - 1) < Requests)
            {
                int image = n % Images;
                long start = Stopwatch.GetTimestamp();
                try
                {
                    // One request in four uses the JSON form.
                    var result = n % 4 == 3
                        ? await client.PredictJsonAsync(ServingModels.Model, [ServingModels.Input(images[image])])
                        : await client.PredictBinaryAsync(ServingModels.Model, ServingModels.Input(images[image]));
                    var logits = result.Outputs[0].Data is double[] d ? d.Select(x => (float)x).ToArray() : result.Outputs[0].As<float>();
                    answers[n] = new Answer(image, start, Stopwatch.GetTimestamp(), result.Version, logits, null);
                }
                catch (Exception e)
                {
                    answers[n] = new Answer(image, start, Stopwatch.GetTimestamp(), 0, [], $"{e.GetType().Name}: {e.Message}");
                }
                Interlocked.Increment(ref completed);
            }
        }

        // New versions arrive while the clients run: one each time a further seventh of the requests is done, after the
        // previous one has been loaded (or has failed).
        async Task Publisher()
        {
            for (int k = 0; k < NewVersions.Length; k++)
            {
                while (Volatile.Read(ref completed) < (k + 1) * Requests / (NewVersions.Length + 1)) await Task.Delay(5);
                var (v, seed) = NewVersions[k];
                if (seed > 0) ServingModels.WriteVersion(root, v, seed);
                else ServingModels.WriteBrokenVersion(root, v);
                (await Task.WhenAny(settled[v].Task, Task.Delay(TimeSpan.FromSeconds(30)))).Should().Be(settled[v].Task, $"version {v} is picked up");
            }
        }

        var publisher = Publisher();
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(_ => Task.Run(ClientLoop)).Append(publisher));

        answers.Where(a => a.Error != null).Select(a => a.Error).Should().BeEmpty("no request may fail across reloads");
        var history = repo.History();
        long Stamp(long v, VersionEventKind kind) => history.SingleOrDefault(e => e.Version == v && e.Kind == kind)?.Timestamp ?? long.MaxValue;
        foreach (var a in answers)
        {
            // Live while the request ran: published before it ended, and not retired before it started.
            Stamp(a.Version, VersionEventKind.Published).Should().BeLessThan(a.End, $"version {a.Version} answered a request that ended before it was published");
            Stamp(a.Version, VersionEventKind.Retired).Should().BeGreaterThan(a.Start, $"version {a.Version} answered a request that started after it was retired");
            ServingModels.MaxAbsDifference(a.Logits, expected[a.Version][a.Image]).Should().BeLessThan(1e-5f, $"version {a.Version}'s logits");
        }
        answers.Should().NotContain(a => a.Version == 4, "the broken version is never served");
        history.Should().ContainSingle(e => e.Version == 4 && e.Kind == VersionEventKind.Failed);
        answers.Select(a => a.Version).Distinct().Count().Should().BeGreaterThanOrEqualTo(3, "the load ran across several versions");
        repo.LiveVersions(ServingModels.Model).Select(v => v.Version).Should().Equal(7);

        // Memory: every retired version drains and is disposed...
        var retired = new long[] { 1, 2, 3, 5, 6 };
        var deadline = Stopwatch.StartNew();
        while (!retired.All(v => history.Any(e => e.Version == v && e.Kind == VersionEventKind.Disposed)) && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
            history = repo.History();
        }
        retired.Where(v => !history.Any(e => e.Version == v && e.Kind == VersionEventKind.Disposed)).Should().BeEmpty("every retired version is disposed after it drains");
        // ...and resident memory comes back near its level with one version live. Each leaked session would keep its weights
        // (the file, 1.7 MB, held once by ONNX Runtime after prepacking) plus its arena; five leaked sessions would exceed
        // 5 × 2 × file size. The bound adds 48 MB of slack for the managed heap and thread stacks that the load grew.
        long modelBytes = new FileInfo(ServingModels.CnnFile(1)).Length;
        long after = SettledResidentBytes();
        TestContext.Out.WriteLine($"rss baseline {baseline / 1e6:F1} MB, after drain {after / 1e6:F1} MB, model {modelBytes / 1e6:F2} MB; versions seen {string.Join(",", answers.Select(a => a.Version).Distinct().Order())}");
        (after - baseline).Should().BeLessThan(48_000_000 + 5 * 2 * modelBytes);

        await server.DisposeAsync();
        Directory.Delete(root, recursive: true);
    }

    private static long SettledResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return ProcessMemory.ResidentBytes();
    }
}
