using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DualFramework.Serving;

/// <summary>
/// A TF-Serving-style model repository, <c>ROOT/MODEL/VERSION/model.onnx</c>, kept in step with the disk: each scan loads
/// and warms up new versions before they take traffic, switches routing atomically, and retires versions the policy no
/// longer wants; a retired version's session is disposed once its in-flight requests finish. A version that fails to load
/// is reported and never served (the previous one stays), and is tried again only when its files change.
/// </summary>
public sealed partial class ModelRepository : IDisposable
{
    /// <summary>The model file of a version folder.</summary>
    public const string ModelFileName = "model.onnx";

    /// <summary>The optional metadata file of a version folder (any JSON; reported by the status API).</summary>
    public const string MetadataFileName = "metadata.json";

    private readonly ServingOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _scanLock = new();
    private readonly ConcurrentDictionary<string, ModelEntry> _models = new(StringComparer.Ordinal);
    private readonly Lock _historyLock = new();
    private readonly List<VersionEvent> _history = [];
    private readonly SemaphoreSlim _wake = new(0);
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private FileSystemWatcher? _watcher;
    private int _wakePending;
    private bool _disposed;

    /// <summary>Creates the repository over <see cref="ServingOptions.ModelRoot"/>; nothing is loaded until <see cref="Scan"/>.</summary>
    public ModelRepository(ServingOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Raised after every version event (on the thread that caused it).</summary>
    public event Action<VersionEvent>? Changed;

    /// <summary>Names of the models found so far, sorted.</summary>
    public IReadOnlyList<string> ModelNames => _models.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>Versions taking traffic, over all models.</summary>
    public int LiveVersionCount => _models.Values.Sum(m => m.Live.Length);

    /// <summary>Every version event so far, in order.</summary>
    public IReadOnlyList<VersionEvent> History()
    {
        lock (_historyLock) return _history.ToArray();
    }

    /// <summary>The versions of <paramref name="model"/> taking traffic, ascending (empty for an unknown model).</summary>
    public IReadOnlyList<ServedVersion> LiveVersions(string model) =>
        _models.TryGetValue(model, out var entry) ? entry.Live : [];

    /// <summary>The available, draining and failed versions of <paramref name="model"/>; null for an unknown model.</summary>
    public IReadOnlyList<VersionStatus>? Status(string model)
    {
        if (!_models.TryGetValue(model, out var entry)) return null;
        lock (entry)
        {
            var list = entry.Live.Select(v => new VersionStatus(v.Version, "AVAILABLE", null, v))
                .Concat(entry.Draining.Values.Select(v => new VersionStatus(v.Version, "UNLOADING", null, v)))
                .Concat(entry.Failed.Select(f => new VersionStatus(f.Key, "FAILED", f.Value.Error, null)));
            return list.OrderByDescending(s => s.Version).ToArray();
        }
    }

    /// <summary>
    /// Leases a version for one request: <paramref name="version"/>, or the highest live one when null. Throws a 404
    /// <see cref="ServingException"/> naming the problem when the model or version is not served.
    /// </summary>
    public VersionLease Lease(string model, long? version = null)
    {
        if (!_models.TryGetValue(model, out var entry))
            throw ServingException.NotFound($"model '{model}' is not served; models: {Join(ModelNames)}");
        while (true)
        {
            var live = entry.Live;
            if (live.Length == 0)
                throw ServingException.NotFound($"model '{model}' has no available version{FailureNote(entry)}");
            var chosen = version is null ? live[^1] : Array.Find(live, v => v.Version == version)
                ?? throw ServingException.NotFound($"model '{model}' has no available version {version}; available: {Join(live.Select(v => v.Version.ToString(CultureInfo.InvariantCulture)))}");
            // It fails only when the version was retired and drained since the snapshot was read: read it again.
            if (chosen.TryAcquire()) return new VersionLease(chosen);
        }
    }

    /// <summary>Brings the loaded versions in step with the disk once (what the polling loop does every interval).</summary>
    public void Scan() => ScanAll();

    private static readonly TimeSpan StartupSettle = TimeSpan.FromMilliseconds(200);

    // Returns how many versions are waiting for their files to settle.
    private int ScanAll()
    {
        lock (_scanLock)
        {
            int settling = 0;
            ObjectDisposedException.ThrowIf(_disposed, this);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            if (Directory.Exists(_options.ModelRoot))
            {
                foreach (var dir in SafeDirectories(_options.ModelRoot))
                {
                    var name = Path.GetFileName(dir);
                    if (!ModelName().IsMatch(name)) continue;
                    seen.Add(name);
                    settling += ScanModel(_models.GetOrAdd(name, n => new ModelEntry(n)), dir);
                }
            }
            foreach (var entry in _models.Values)
                if (!seen.Contains(entry.Name)) ScanModel(entry, null);
            return settling;
        }
    }

    /// <summary>Scans now, then every <see cref="ServingOptions.PollInterval"/> (sooner after a file-system event).</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_loop != null) throw new InvalidOperationException("the repository is already polling");
        // Versions written just before the start are loaded now rather than one poll later, unless they are still changing.
        if (ScanAll() > 0)
        {
            Thread.Sleep(StartupSettle);
            Scan();
        }
        _stop = new CancellationTokenSource();
        _watcher = TryWatch();
        var token = _stop.Token;
        _loop = Task.Run(async () =>
        {
            while (!token.IsCancellationRequested)
            {
                try
                {
                    await _wake.WaitAsync(_options.PollInterval, token).ConfigureAwait(false);
                    Interlocked.Exchange(ref _wakePending, 0);
                    Scan();
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e) when (e is not ObjectDisposedException)
                {
                    // A scan that throws (a permission error on the root, say) must not end the polling.
                    _logger.LogError(e, "scanning {Root} failed", _options.ModelRoot);
                }
            }
        }, CancellationToken.None);
    }

    /// <summary>Stops polling and retires every version (each is disposed once its in-flight requests finish).</summary>
    public void Dispose()
    {
        _stop?.Cancel();
        _watcher?.Dispose();
        try { _loop?.Wait(); }
        catch (AggregateException) { }
        lock (_scanLock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var entry in _models.Values)
                foreach (var v in entry.Live) Retire(entry, v);
        }
        _stop?.Dispose();
        _wake.Dispose();
    }

    private int ScanModel(ModelEntry entry, string? directory)
    {
        int settling = 0;
        var present = new Dictionary<long, VersionFiles>();
        if (directory != null)
        {
            foreach (var dir in SafeDirectories(directory))
            {
                if (!long.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out long v) || v <= 0) continue;
                if (!_options.VersionPolicy.Allows(v)) continue;
                if (VersionFiles.Read(dir) is { } files) present[v] = files;
            }
        }
        var live = entry.Live;
        var now = DateTime.UtcNow;
        var candidates = new List<long>();
        foreach (var (v, files) in present)
        {
            if (Array.Exists(live, l => l.Version == v)) candidates.Add(v);
            else if (entry.Failed.TryGetValue(v, out var failed) && failed.Files == files) continue;
            else if ((entry.Seen.TryGetValue(v, out var before) && before == files) || now - files.LastWrite >= _options.SettleTime)
                candidates.Add(v);
            else settling++;
        }
        entry.Seen = present;
        lock (entry)
            foreach (var v in entry.Failed.Keys.Where(v => !present.ContainsKey(v)).ToArray()) entry.Failed.Remove(v);

        var target = new List<ServedVersion>();
        foreach (long v in candidates.OrderDescending())
        {
            if (target.Count >= _options.VersionPolicy.Count) break;
            if (Array.Find(live, l => l.Version == v) is { } loaded)
            {
                target.Add(loaded);
                continue;
            }
            var dir = Path.Combine(directory!, v.ToString(CultureInfo.InvariantCulture));
            try
            {
                var served = ServedVersion.Load(entry.Name, v, dir, _options);
                Publish(entry, served);
                target.Add(served);
            }
            catch (Exception e) when (e is ModelLoadException or IOException or UnauthorizedAccessException)
            {
                lock (entry) entry.Failed[v] = (present[v], e.Message);
                _logger.LogError("model {Model} version {Version} failed to load and is not served: {Error}", entry.Name, v, e.Message);
                Record(new VersionEvent(entry.Name, v, VersionEventKind.Failed, Stopwatch.GetTimestamp(), e.Message));
            }
        }
        // The new versions take traffic before the old ones leave (availability first).
        foreach (var old in entry.Live)
            if (!target.Contains(old)) Retire(entry, old);
        return settling;
    }

    private void Publish(ModelEntry entry, ServedVersion served)
    {
        served.Disposed += v => OnDisposed(entry, v);
        // Stamped before the switch: the recorded live interval then contains the true one.
        long stamp = Stopwatch.GetTimestamp();
        lock (entry)
        {
            entry.Live = [.. entry.Live.Append(served).OrderBy(v => v.Version)];
            entry.Failed.Remove(served.Version);
        }
        _logger.LogInformation("model {Model} version {Version} is available ({Inputs} -> {Outputs})", entry.Name, served.Version,
            string.Join(", ", served.Inputs), string.Join(", ", served.Outputs));
        Record(new VersionEvent(entry.Name, served.Version, VersionEventKind.Published, stamp));
    }

    private void Retire(ModelEntry entry, ServedVersion served)
    {
        lock (entry)
        {
            entry.Live = entry.Live.Where(v => v != served).ToArray();
            entry.Draining[served.Version] = served;
        }
        // Stamped after the switch, for the same reason.
        Record(new VersionEvent(entry.Name, served.Version, VersionEventKind.Retired, Stopwatch.GetTimestamp()));
        _logger.LogInformation("model {Model} version {Version} retired; it is disposed once its requests finish", entry.Name, served.Version);
        served.Release();
    }

    private void OnDisposed(ModelEntry entry, ServedVersion served)
    {
        lock (entry)
            if (entry.Draining.TryGetValue(served.Version, out var d) && d == served) entry.Draining.Remove(served.Version);
        Record(new VersionEvent(entry.Name, served.Version, VersionEventKind.Disposed, Stopwatch.GetTimestamp()));
    }

    private void Record(VersionEvent e)
    {
        lock (_historyLock) _history.Add(e);
        Changed?.Invoke(e);
    }

    private FileSystemWatcher? TryWatch()
    {
        if (!Directory.Exists(_options.ModelRoot)) return null;
        try
        {
            var w = new FileSystemWatcher(_options.ModelRoot) { IncludeSubdirectories = true };
            FileSystemEventHandler wake = (_, _) => Wake();
            w.Created += wake;
            w.Changed += wake;
            w.Deleted += wake;
            w.Renamed += (_, _) => Wake();
            w.EnableRaisingEvents = true;
            return w;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
        {
            // Out of inotify watches, say: polling alone still finds every change.
            _logger.LogWarning("file-system events are unavailable ({Error}); polling every {Interval}", e.Message, _options.PollInterval);
            return null;
        }
    }

    private void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            try { _wake.Release(); }
            catch (ObjectDisposedException) { }
        }
    }

    private static string[] SafeDirectories(string path)
    {
        try { return Directory.GetDirectories(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }

    private static string FailureNote(ModelEntry entry)
    {
        lock (entry)
            return entry.Failed.Count == 0 ? "" : "; failed: " + string.Join("; ", entry.Failed.Select(f => $"version {f.Key}: {f.Value.Error}"));
    }

    private static string Join(IEnumerable<string> items)
    {
        var s = string.Join(", ", items);
        return s.Length == 0 ? "(none)" : s;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    private static partial Regex ModelName();

    private sealed class ModelEntry(string name)
    {
        public string Name { get; } = name;

        // Replaced whole under the entry's lock, read without it: requests see one consistent list.
        private volatile ServedVersion[] _live = [];
        public ServedVersion[] Live { get => _live; set => _live = value; }

        public Dictionary<long, VersionFiles> Seen { get; set; } = [];
        public Dictionary<long, (VersionFiles Files, string Error)> Failed { get; } = [];
        public Dictionary<long, ServedVersion> Draining { get; } = [];
    }
}
