using System.Reflection;

namespace DualFramework.Backends;

/// <summary>Marks the type in a backend assembly that creates the backend, so Core can find it by name.</summary>
/// <param name="name">Registry name, e.g. "torch".</param>
/// <param name="factory">A type with a public parameterless constructor implementing <see cref="IComputeBackend"/>.</param>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class BackendProviderAttribute(string name, Type factory) : Attribute
{
    /// <summary>Registry name.</summary>
    public string Name { get; } = name;

    /// <summary>The backend type.</summary>
    public Type Factory { get; } = factory;
}

/// <summary>
/// Backends by name. Core references no backend assembly: a backend named <c>x</c> is looked up in the assembly
/// <c>DualFramework.X</c> (via its <see cref="BackendProviderAttribute"/>) the first time it is asked for, or registered
/// explicitly with <see cref="Register"/>. The default comes from the <c>DUALFRAMEWORK_BACKEND</c> environment variable
/// (default "torch") unless <see cref="Default"/> is set.
/// </summary>
public static class BackendRegistry
{
    /// <summary>The environment variable that selects the default backend.</summary>
    public const string EnvironmentVariable = "DUALFRAMEWORK_BACKEND";

    private static readonly Dictionary<string, Func<IComputeBackend>> Factories = new(StringComparer.OrdinalIgnoreCase);
    private static readonly Dictionary<string, IComputeBackend> Instances = new(StringComparer.OrdinalIgnoreCase);
    private static readonly Dictionary<string, string> AssemblyByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["torch"] = "DualFramework.Torch",
        ["graph"] = "DualFramework.Graph",
    };
    private static readonly object Lock = new();
    private static IComputeBackend? _default;
    [ThreadStatic] private static IComputeBackend? _threadDefault;

    /// <summary>Registers a backend factory under <paramref name="name"/>.</summary>
    public static void Register(string name, Func<IComputeBackend> factory)
    {
        lock (Lock) Factories[name] = factory;
    }

    /// <summary>The backend used for tensors created without an explicit backend: this thread's <see cref="Use"/> override
    /// if one is active, else the process-wide default (setting this property changes the process-wide default).</summary>
    public static IComputeBackend Default
    {
        get
        {
            var d = _threadDefault ?? _default;
            if (d != null) return d;
            lock (Lock)
            {
                _default ??= Get(NameFromEnvironment(Environment.GetEnvironmentVariable(EnvironmentVariable)));
                return _default;
            }
        }
        set
        {
            lock (Lock) _default = value;
        }
    }

    /// <summary>
    /// Makes <paramref name="backend"/> this thread's default until the returned scope is disposed (scopes nest). Other
    /// threads keep theirs, so in-process replicas or parallel tests can build models on different backends without racing
    /// on the process-wide <see cref="Default"/>.
    /// </summary>
    public static IDisposable Use(IComputeBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var scope = new DefaultScope(_threadDefault);
        _threadDefault = backend;
        return scope;
    }

    private sealed class DefaultScope(IComputeBackend? previous) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _threadDefault = previous;
        }
    }

    /// <summary>The backend name selected by a value of <see cref="EnvironmentVariable"/> ("torch" when unset or blank).</summary>
    internal static string NameFromEnvironment(string? value) => string.IsNullOrWhiteSpace(value) ? "torch" : value.Trim();

    /// <summary>The backend name that <see cref="EnvironmentVariable"/> selects in this process ("torch" when unset).</summary>
    public static string NameFromEnvironmentVariable() => NameFromEnvironment(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>Selects the default backend by name (the one-line switch).</summary>
    public static void SetDefault(string name) => Default = Get(name);

    /// <summary>Backends created so far.</summary>
    public static IReadOnlyList<IComputeBackend> Loaded
    {
        get { lock (Lock) return Instances.Values.ToArray(); }
    }

    /// <summary>
    /// Disposes every backend this registry created (those that are <see cref="IDisposable"/>: e.g. the graph backend's
    /// ONNX Runtime sessions and options) and forgets them, so a later <see cref="Get"/> creates a new one; the process-wide
    /// default (and this thread's <see cref="Use"/> override) is reset when it was one of them. Tensors of a disposed
    /// backend must not be used afterwards. Returns how many backends were forgotten.
    /// </summary>
    /// <exception cref="AggregateException">Some backends threw while being disposed (all were still forgotten).</exception>
    public static int DisposeLoaded()
    {
        IComputeBackend[] created;
        lock (Lock)
        {
            created = Instances.Values.Distinct().ToArray();
            Instances.Clear();
        }
        return Forget(created);
    }

    /// <summary>Disposes and forgets the backend called <paramref name="name"/> if this registry created it (see
    /// <see cref="DisposeLoaded"/>); returns false when there was none.</summary>
    public static bool Dispose(string name)
    {
        IComputeBackend? b;
        lock (Lock)
            if (!Instances.Remove(name, out b)) return false;
        Forget([b]);
        return true;
    }

    private static int Forget(IComputeBackend[] created)
    {
        lock (Lock)
            if (_default != null && created.Contains(_default)) _default = null;
        if (_threadDefault != null && created.Contains(_threadDefault)) _threadDefault = null;
        var errors = new List<Exception>();
        foreach (var b in created)
        {
            try { (b as IDisposable)?.Dispose(); }
            catch (Exception e) { errors.Add(e); }
        }
        if (errors.Count > 0) throw new AggregateException("Disposing backends failed.", errors);
        return created.Length;
    }

    /// <summary>The backend called <paramref name="name"/>, created on first use.</summary>
    /// <exception cref="ArgumentException">No such backend can be found.</exception>
    public static IComputeBackend Get(string name)
    {
        lock (Lock)
        {
            if (Instances.TryGetValue(name, out var b)) return b;
            if (!Factories.TryGetValue(name, out var f))
            {
                Discover(name);
                if (!Factories.TryGetValue(name, out f))
                    throw new ArgumentException(
                        $"Unknown backend '{name}'. Known: {string.Join(", ", AssemblyByName.Keys.Union(Factories.Keys))}. " +
                        $"Reference the package {AssemblyName(name)} to make it available.", nameof(name));
            }
            b = f();
            Instances[name] = b;
            return b;
        }
    }

    private static string AssemblyName(string name) =>
        AssemblyByName.TryGetValue(name, out var a) ? a : "DualFramework." + char.ToUpperInvariant(name[0]) + name[1..];

    private static void Discover(string name)
    {
        Assembly asm;
        try { asm = Assembly.Load(new AssemblyName(AssemblyName(name))); }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException) { return; }
        foreach (var attr in asm.GetCustomAttributes<BackendProviderAttribute>())
        {
            var type = attr.Factory;
            Factories[attr.Name] = () => (IComputeBackend)Activator.CreateInstance(type)!;
        }
    }
}
