using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace DualFramework.Serving;

/// <summary>
/// The HTTP model server (ASP.NET Core on Kestrel) over a <see cref="ModelRepository"/>: <c>POST
/// /v1/models/NAME[/versions/V]:predict</c> (JSON or binary), <c>GET /v1/models[/NAME[/versions/V]]</c>, <c>GET /healthz</c>
/// and <c>GET /metrics</c>. Bad requests get a 4xx naming the problem. See docs/serving.md.
/// </summary>
public sealed class ModelServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ServingOptions _options;
    private readonly SemaphoreSlim _slots;
    private readonly ILogger _logger;
    private int _stopped;

    private ModelServer(WebApplication app, ServingOptions options, ModelRepository repository, ILogger logger)
    {
        _app = app;
        _options = options;
        Repository = repository;
        _logger = logger;
        _slots = new SemaphoreSlim(options.MaxConcurrentRequests);
        Metrics = new ServingMetrics();
        repository.Changed += Metrics.VersionEvent;
        app.Run(DispatchAsync);
    }

    /// <summary>The model repository being served.</summary>
    public ModelRepository Repository { get; }

    /// <summary>The request counters behind <c>GET /metrics</c>.</summary>
    public ServingMetrics Metrics { get; }

    /// <summary>The address the server listens on, e.g. <c>http://127.0.0.1:8501/</c> (the real port when 0 was asked for).</summary>
    public Uri Address { get; private set; } = new("http://127.0.0.1/");

    /// <summary>
    /// Loads the repository (its current versions are available when this returns), starts polling it and starts listening.
    /// <paramref name="logging"/> configures logging (none by default).
    /// </summary>
    public static async Task<ModelServer> StartAsync(ServingOptions options, Action<ILoggingBuilder>? logging = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the binary tensor form assumes a little-endian host");
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ApplicationName = "DualFramework.Serving", ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            // The body limit is enforced by the server itself, which can then drain an oversized body and answer 413 on a
            // clean connection (Kestrel's own limit closes it, and the client may see a reset instead of the message).
            k.Limits.MaxRequestBodySize = null;
            if (options.Host == "localhost") k.ListenLocalhost(options.Port);
            else if (IPAddress.TryParse(options.Host, out var ip)) k.Listen(ip, options.Port);
            else throw new ArgumentException($"cannot listen on '{options.Host}': give an IP address or localhost", nameof(options));
        });
        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("DualFramework.Serving");
        var repository = new ModelRepository(options, logger);
        var server = new ModelServer(app, options, repository, logger);
        try
        {
            repository.Start();
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        server.Address = new Uri(app.Urls.First().Replace("[::]", "localhost", StringComparison.Ordinal).TrimEnd('/') + "/");
        logger.LogInformation("serving {Root} on {Address} ({Models} models, {Versions} live versions)", options.ModelRoot, server.Address,
            repository.ModelNames.Count, repository.LiveVersionCount);
        return server;
    }

    /// <summary>Completes when the host is asked to stop (Ctrl+C, SIGTERM) or <paramref name="cancellationToken"/> fires.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops listening (in-flight requests finish), then retires every version.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        try { await _app.StopAsync().ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        await _app.DisposeAsync().ConfigureAwait(false);
        Repository.Dispose();
        _slots.Dispose();
    }

    private async Task DispatchAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "/";
        try
        {
            if (path.StartsWith(ModelRoute.Prefix, StringComparison.Ordinal))
            {
                var route = ModelRoute.Parse(path[ModelRoute.Prefix.Length..]);
                if (route.Predict)
                {
                    RequireMethod(ctx, HttpMethods.Post);
                    await PredictAsync(ctx, route).ConfigureAwait(false);
                }
                else
                {
                    RequireMethod(ctx, HttpMethods.Get);
                    await WriteJsonAsync(ctx, 200, w => StatusWriter.WriteModel(w, Repository, route.Model, route.Version, _options.VersionPolicy)).ConfigureAwait(false);
                }
                return;
            }
            switch (path)
            {
                case "/v1/models":
                    RequireMethod(ctx, HttpMethods.Get);
                    await WriteJsonAsync(ctx, 200, w => StatusWriter.WriteModels(w, Repository)).ConfigureAwait(false);
                    return;
                case "/healthz":
                    RequireMethod(ctx, HttpMethods.Get);
                    await WriteJsonAsync(ctx, 200, w => StatusWriter.WriteHealth(w, Repository)).ConfigureAwait(false);
                    return;
                case "/metrics":
                    RequireMethod(ctx, HttpMethods.Get);
                    ctx.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                    await ctx.Response.WriteAsync(Metrics.Render(Repository), ctx.RequestAborted).ConfigureAwait(false);
                    return;
                default:
                    throw ServingException.NotFound($"no such endpoint: {ctx.Request.Method} {path} (the API: /v1/models/NAME[/versions/V][:predict], /healthz, /metrics)");
            }
        }
        catch (Exception e) when (ErrorStatus(e) is { } status)
        {
            if (status == 413) await DrainAsync(ctx).ConfigureAwait(false);
            await WriteErrorAsync(ctx, status, ErrorMessage(e)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _logger.LogError(e, "{Method} {Path} failed", ctx.Request.Method, path);
            await WriteErrorAsync(ctx, 500, $"internal error: {e.GetType().Name}: {e.Message}").ConfigureAwait(false);
        }
    }

    private async Task PredictAsync(HttpContext ctx, ModelRoute route)
    {
        long start = Stopwatch.GetTimestamp();
        // An unknown model name is not a label of its own: a client cannot grow the metrics without bound.
        string modelLabel = Repository.LiveVersions(route.Model).Count > 0 || Repository.Status(route.Model) != null ? route.Model : "(unknown)";
        string versionLabel = "";
        int status = 200;
        Metrics.Begin();
        bool slot = false;
        try
        {
            slot = await _slots.WaitAsync(_options.QueueTimeout, ctx.RequestAborted).ConfigureAwait(false);
            if (!slot)
                throw new ServingException(429, $"too many concurrent requests: {_options.MaxConcurrentRequests} are running and this one waited {_options.QueueTimeout.TotalSeconds:0.###} s");
            if (ctx.Request.ContentLength > _options.MaxBodyBytes) throw BodyTooLarge();
            var contentType = ctx.Request.ContentType ?? "";
            bool binary = contentType.StartsWith(BinaryTensorCodec.ContentType, StringComparison.OrdinalIgnoreCase);
            if (!binary && contentType.Length > 0 && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
                throw new ServingException(415, $"unsupported content type '{contentType}': use application/json or {BinaryTensorCodec.ContentType}");

            NamedTensor[] outputs;
            ServedVersion version;
            (string? Name, NamedTensor Tensor) raw = default;
            JsonDocument? doc = null;
            try
            {
                // The body is read before a version is leased, so a slow client does not hold up a retired version's disposal.
                if (binary) raw = await BinaryTensorCodec.ReadAsync(ctx.Request, _options.MaxBodyBytes, ctx.RequestAborted).ConfigureAwait(false);
                else doc = JsonTensorCodec.Parse(await ReadBodyAsync(ctx).ConfigureAwait(false));
                using var lease = Repository.Lease(route.Model, route.Version);
                version = lease.Version;
                versionLabel = version.Version.ToString(CultureInfo.InvariantCulture);
                var inputs = binary ? [BinaryTensorCodec.Bind(raw.Name, raw.Tensor!, version.Inputs)] : JsonTensorCodec.ReadInputs(doc!.RootElement, version.Inputs);
                try
                {
                    outputs = await version.RunAsync(inputs).ConfigureAwait(false);
                }
                catch (OnnxRuntimeException e)
                {
                    throw ServingException.BadRequest($"the model rejected the input: {e.Message}");
                }
            }
            finally
            {
                doc?.Dispose();
            }
            ctx.Response.Headers[BinaryTensorCodec.ModelNameHeader] = version.Model;
            ctx.Response.Headers[BinaryTensorCodec.ModelVersionHeader] = versionLabel;
            if (binary)
            {
                var output = BinaryTensorCodec.PickOutput(ctx.Request, outputs);
                var bytes = BinaryTensorCodec.AsBytes(output.Data);
                ctx.Response.ContentType = BinaryTensorCodec.ContentType;
                ctx.Response.ContentLength = bytes.Length;
                ctx.Response.Headers[BinaryTensorCodec.OutputNameHeader] = output.Name;
                ctx.Response.Headers[BinaryTensorCodec.ShapeHeader] = BinaryTensorCodec.FormatShape(output.Shape);
                ctx.Response.Headers[BinaryTensorCodec.DTypeHeader] = output.DType.Name();
                await ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted).ConfigureAwait(false);
            }
            else
            {
                await WriteJsonAsync(ctx, 200, w => JsonTensorCodec.WriteResponse(w, version, outputs)).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            status = ErrorStatus(e) ?? (e is OperationCanceledException ? 499 : 500);
            throw;
        }
        finally
        {
            if (slot) _slots.Release();
            Metrics.End(modelLabel, versionLabel, status, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
    }

    // The whole body, refused past the limit whether or not it announced its length.
    private async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpContext ctx)
    {
        var stream = new MemoryStream(ctx.Request.ContentLength is { } n ? (int)n : 4096);
        var buffer = new byte[16384];
        int read;
        while ((read = await ctx.Request.Body.ReadAsync(buffer, ctx.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (stream.Length + read > _options.MaxBodyBytes) throw BodyTooLarge();
            stream.Write(buffer, 0, read);
        }
        return stream.GetBuffer().AsMemory(0, (int)stream.Length);
    }

    // Reads and drops what is left of an oversized body, up to four times the limit (beyond that the connection is closed).
    private async Task DrainAsync(HttpContext ctx)
    {
        var buffer = new byte[16384];
        long left = 4 * _options.MaxBodyBytes;
        try
        {
            int n;
            while (left > 0 && (n = await ctx.Request.Body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ctx.RequestAborted).ConfigureAwait(false)) > 0)
                left -= n;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or BadHttpRequestException) { }
        if (left <= 0) ctx.Response.Headers.Connection = "close";
    }

    private ServingException BodyTooLarge() => ServingException.BodyTooLarge(_options.MaxBodyBytes);

    private static void RequireMethod(HttpContext ctx, string method)
    {
        if (!string.Equals(ctx.Request.Method, method, StringComparison.OrdinalIgnoreCase))
            throw new ServingException(405, $"{ctx.Request.Method} is not allowed on {ctx.Request.Path}; use {method}");
    }

    private static int? ErrorStatus(Exception e) => e switch
    {
        ServingException s => s.StatusCode,
        BadHttpRequestException b => b.StatusCode,
        _ => null,
    };

    private string ErrorMessage(Exception e) => e switch
    {
        BadHttpRequestException { StatusCode: 413 } => BodyTooLarge().Message,
        _ => e.Message,
    };

    private static Task WriteErrorAsync(HttpContext ctx, int status, string message)
    {
        if (ctx.Response.HasStarted) return Task.CompletedTask; // too late for an error body: the client sees a cut response
        ctx.Response.Clear();
        return WriteJsonAsync(ctx, status, w => JsonTensorCodec.WriteError(w, message));
    }

    private static async Task WriteJsonAsync(HttpContext ctx, int status, Action<Utf8JsonWriter> write)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        await using (var writer = new Utf8JsonWriter(ctx.Response.BodyWriter))
            write(writer);
        await ctx.Response.BodyWriter.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
    }
}
