using System.CommandLine;
using System.Globalization;
using DualFramework.Serving;
using DualFramework.Tools.Dualfx.Output;
using Microsoft.Extensions.Logging;

namespace DualFramework.Tools.Dualfx.Commands;

/// <summary><c>dualfx serve --model-root DIR --port N</c>: the HTTP model server over a TF-Serving-style repository (docs/serving.md).</summary>
internal static class ServeCommand
{
    public static Command Create(Reporter reporter)
    {
        var root = new Option<string>("--model-root") { Description = "Repository: DIR/MODEL/VERSION/model.onnx (+ optional metadata.json)", Required = true };
        var port = OptionFactory.WithDefault("--port", "TCP port (0: any free port)", 8501);
        var host = OptionFactory.WithDefault("--host", "Address to listen on (0.0.0.0 for every interface)", "127.0.0.1");
        var poll = OptionFactory.WithDefault("--poll-ms", "Milliseconds between repository scans (file-system events also wake a scan)", 1000);
        var policy = OptionFactory.WithDefault("--version-policy", "latest, latest:N, all or specific:V1,V2", "latest");
        var maxBody = OptionFactory.WithDefault("--max-body-bytes", "Largest request body (larger: 413)", 16L << 20);
        var concurrency = OptionFactory.WithDefault("--max-concurrency", "Predictions running at once (more wait, then get 429)", 64);
        var threads = OptionFactory.WithDefault("--intra-op-threads", "ONNX Runtime threads per run (0: ORT's default)", 1);
        var batch = OptionFactory.WithDefault("--batch-max", "Dynamic batching: most rows joined into one run (0: off)", 0);
        var batchWait = OptionFactory.WithDefault("--batch-wait-us", "Dynamic batching: longest wait for more requests, in microseconds", 1000);
        var runFor = OptionFactory.Optional<double?>("--run-for", "Stop after this many seconds (default: until Ctrl+C)");
        var command = new Command("serve", "Serve the ONNX models of a repository over HTTP, reloading new versions without downtime")
        {
            root, port, host, poll, policy, maxBody, concurrency, threads, batch, batchWait, runFor,
        };
        command.SetAction(p =>
        {
            VersionPolicy versionPolicy;
            try { versionPolicy = VersionPolicy.Parse(p.GetValue(policy)!); }
            catch (FormatException e) { throw new UserErrorException(e.Message, ExitCodes.Usage); }
            int batchMax = p.GetValue(batch);
            if (batchMax < 0) throw new UserErrorException($"--batch-max must be 0 (off) or positive, got {batchMax}", ExitCodes.Usage);
            var options = new ServingOptions
            {
                ModelRoot = OptionFactory.MustExist(p.GetValue(root)!),
                Port = Require(p.GetValue(port), n => n is >= 0 and <= 65535, "--port must be 0..65535"),
                Host = p.GetValue(host)!,
                PollInterval = TimeSpan.FromMilliseconds(OptionFactory.Positive(p.GetValue(poll), "--poll-ms")),
                VersionPolicy = versionPolicy,
                MaxBodyBytes = Require(p.GetValue(maxBody), b => b > 0, "--max-body-bytes must be positive"),
                MaxConcurrentRequests = OptionFactory.Positive(p.GetValue(concurrency), "--max-concurrency"),
                IntraOpThreads = Require(p.GetValue(threads), t => t >= 0, "--intra-op-threads must be 0 or more"),
                Batching = batchMax == 0 ? null : new BatchingOptions
                {
                    MaxBatch = batchMax,
                    MaxWait = TimeSpan.FromMicroseconds(Require(p.GetValue(batchWait), w => w >= 0, "--batch-wait-us cannot be negative")),
                },
            };
            return Serve(options, p.GetValue(runFor), reporter);
        });
        return command;
    }

    private static T Require<T>(T value, Func<T, bool> ok, string message) =>
        ok(value) ? value : throw new UserErrorException(string.Create(CultureInfo.InvariantCulture, $"{message}, got {value}"), ExitCodes.Usage);

    public static int Serve(ServingOptions options, double? runFor, Reporter reporter)
    {
        using var provider = new ReporterLoggerProvider(reporter);
        ModelServer server;
        try
        {
            server = ModelServer.StartAsync(options, logging => logging
                .AddProvider(provider)
                .AddFilter("Microsoft", LogLevel.Warning)
                .AddFilter("DualFramework", LogLevel.Information)).GetAwaiter().GetResult();
        }
        catch (IOException e)
        {
            throw new UserErrorException($"cannot listen on {options.Host}:{options.Port}: {e.Message}");
        }
        catch (ArgumentException e)
        {
            throw new UserErrorException(e.Message, ExitCodes.Usage);
        }
        try
        {
            reporter.Line($"serving {options.ModelRoot} on {server.Address} (POST {server.Address}v1/models/NAME:predict; Ctrl+C stops)");
            using var stop = runFor is { } seconds ? new CancellationTokenSource(TimeSpan.FromSeconds(seconds)) : new CancellationTokenSource();
            server.WaitForShutdownAsync(stop.Token).GetAwaiter().GetResult();
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        reporter.Line("stopped");
        return ExitCodes.Success;
    }
}
