using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace DualFramework.Serving;

/// <summary>
/// The server's counters, written in the Prometheus text format for <c>GET /metrics</c>: requests, errors and a latency
/// histogram per model and version, in-flight requests, version loads and failures, and live versions per model.
/// </summary>
public sealed class ServingMetrics
{
    /// <summary>Upper bounds of the latency histogram, in seconds.</summary>
    public static readonly double[] LatencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

    private readonly ConcurrentDictionary<(string Model, string Version), Series> _series = new();
    private readonly ConcurrentDictionary<(string Model, string Version, int Code), Counter> _errors = new();
    private readonly ConcurrentDictionary<(string Model, string Event), Counter> _versionEvents = new();
    private long _inFlight;

    /// <summary>Predictions being served now.</summary>
    public long InFlight => Interlocked.Read(ref _inFlight);

    internal void Begin() => Interlocked.Increment(ref _inFlight);

    /// <summary>Counts one finished prediction request (<paramref name="version"/> empty when none was resolved).</summary>
    internal void End(string model, string version, int statusCode, double seconds)
    {
        Interlocked.Decrement(ref _inFlight);
        var s = _series.GetOrAdd((model, version), _ => new Series());
        s.Observe(seconds);
        if (statusCode >= 400) Interlocked.Increment(ref _errors.GetOrAdd((model, version, statusCode), _ => new Counter()).Value);
    }

    internal void VersionEvent(VersionEvent e) =>
        Interlocked.Increment(ref _versionEvents.GetOrAdd((e.Model, e.Kind.ToString().ToLowerInvariant()), _ => new Counter()).Value);

    /// <summary>Total requests counted for a model and version (for tests and the status page).</summary>
    public long Requests(string model, string version) => _series.TryGetValue((model, version), out var s) ? Interlocked.Read(ref s.Count) : 0;

    /// <summary>The Prometheus text exposition (format 0.0.4).</summary>
    public string Render(ModelRepository repository)
    {
        var sb = new StringBuilder();
        var series = _series.OrderBy(p => p.Key.Model, StringComparer.Ordinal).ThenBy(p => p.Key.Version, StringComparer.Ordinal).ToArray();
        sb.Append("# HELP dualfx_serving_requests_total Prediction requests, by model and version (failed ones too).\n");
        sb.Append("# TYPE dualfx_serving_requests_total counter\n");
        foreach (var (k, s) in series) Line(sb, "dualfx_serving_requests_total", Labels(k.Model, k.Version), Interlocked.Read(ref s.Count));
        sb.Append("# HELP dualfx_serving_errors_total Prediction requests answered with an error, by model, version and status code.\n");
        sb.Append("# TYPE dualfx_serving_errors_total counter\n");
        foreach (var (k, c) in _errors.OrderBy(p => p.Key.Model, StringComparer.Ordinal).ThenBy(p => p.Key.Version, StringComparer.Ordinal).ThenBy(p => p.Key.Code))
            Line(sb, "dualfx_serving_errors_total", Labels(k.Model, k.Version) + $",code=\"{k.Code}\"", Interlocked.Read(ref c.Value));
        sb.Append("# HELP dualfx_serving_request_duration_seconds Prediction latency in the server, by model and version.\n");
        sb.Append("# TYPE dualfx_serving_request_duration_seconds histogram\n");
        foreach (var (k, s) in series)
        {
            var labels = Labels(k.Model, k.Version);
            long cumulative = 0;
            for (int i = 0; i < LatencyBuckets.Length; i++)
            {
                cumulative += Interlocked.Read(ref s.Buckets[i]);
                Line(sb, "dualfx_serving_request_duration_seconds_bucket", labels + $",le=\"{LatencyBuckets[i].ToString(CultureInfo.InvariantCulture)}\"", cumulative);
            }
            Line(sb, "dualfx_serving_request_duration_seconds_bucket", labels + ",le=\"+Inf\"", Interlocked.Read(ref s.Count));
            sb.Append(CultureInfo.InvariantCulture, $"dualfx_serving_request_duration_seconds_sum{{{labels}}} {s.Sum.ToString("R", CultureInfo.InvariantCulture)}\n");
            Line(sb, "dualfx_serving_request_duration_seconds_count", labels, Interlocked.Read(ref s.Count));
        }
        sb.Append("# HELP dualfx_serving_in_flight_requests Predictions being served now.\n");
        sb.Append("# TYPE dualfx_serving_in_flight_requests gauge\n");
        Line(sb, "dualfx_serving_in_flight_requests", null, InFlight);
        sb.Append("# HELP dualfx_serving_live_versions Versions taking traffic, by model.\n");
        sb.Append("# TYPE dualfx_serving_live_versions gauge\n");
        foreach (var m in repository.ModelNames) Line(sb, "dualfx_serving_live_versions", $"model=\"{Escape(m)}\"", repository.LiveVersions(m).Count);
        sb.Append("# HELP dualfx_serving_version_events_total Version changes by model and kind (published, failed, retired, disposed).\n");
        sb.Append("# TYPE dualfx_serving_version_events_total counter\n");
        foreach (var (k, c) in _versionEvents.OrderBy(p => p.Key.Model, StringComparer.Ordinal).ThenBy(p => p.Key.Event, StringComparer.Ordinal))
            Line(sb, "dualfx_serving_version_events_total", $"model=\"{Escape(k.Model)}\",event=\"{k.Event}\"", Interlocked.Read(ref c.Value));
        return sb.ToString();
    }

    private static string Labels(string model, string version) => $"model=\"{Escape(model)}\",version=\"{Escape(version)}\"";

    private static void Line(StringBuilder sb, string name, string? labels, long value) =>
        sb.Append(CultureInfo.InvariantCulture, $"{name}{(labels is null ? "" : "{" + labels + "}")} {value}\n");

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed class Counter
    {
        public long Value;
    }

    private sealed class Series
    {
        public readonly long[] Buckets = new long[LatencyBuckets.Length];
        public long Count;
        private long _sumTicks;

        public double Sum => Interlocked.Read(ref _sumTicks) / 1e7;

        public void Observe(double seconds)
        {
            int i = Array.FindIndex(LatencyBuckets, b => seconds <= b);
            if (i >= 0) Interlocked.Increment(ref Buckets[i]);
            Interlocked.Add(ref _sumTicks, (long)(seconds * 1e7));
            Interlocked.Increment(ref Count);
        }
    }
}
