using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace DualFramework.Tests.Support;

/// <summary>
/// Counts objects of chosen types that reach their finalizer (the runtime's FinalizeObject event) between
/// <see cref="Start"/> and <see cref="Stop"/>: an object that native code may still be reading must be disposed, not left to
/// the finalizer. Collections before Start and after the measured code bracket the count exactly.
/// </summary>
internal sealed class FinalizationCounter : EventListener
{
    private const string RuntimeSource = "Microsoft-Windows-DotNETRuntime";
    private const long GcKeyword = 0x1;

    private readonly ConcurrentDictionary<nint, int> _counts = new();
    private readonly Dictionary<nint, Type> _watched;
    private readonly nint _sentinelType = typeof(Sentinel).TypeHandle.Value;
    private volatile int _sentinelsSeen;
    private volatile bool _counting;

    public FinalizationCounter(params Type[] watched)
    {
        _watched = watched.ToDictionary(t => t.TypeHandle.Value);
    }

    /// <summary>Finalizes everything already unreachable, then starts counting.</summary>
    public void Start()
    {
        Drain();
        _counts.Clear();
        _counting = true;
    }

    /// <summary>Finalizes everything left unreachable by the measured code and returns the count per watched type.</summary>
    public IReadOnlyDictionary<Type, int> Stop()
    {
        Drain();
        _counting = false;
        return _watched.ToDictionary(kv => kv.Value, kv => _counts.GetValueOrDefault(kv.Key));
    }

    // Runtime events arrive asynchronously: a sentinel finalized after the others marks when they have all arrived.
    private void Drain()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        int target = _sentinelsSeen + 1;
        MakeSentinel();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (_sentinelsSeen < target)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The runtime's FinalizeObject events did not arrive.");
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Thread.Sleep(20);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void MakeSentinel() => _ = new Sentinel();

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == RuntimeSource) EnableEvents(source, EventLevel.Verbose, (EventKeywords)GcKeyword);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName != "FinalizeObject" || e.Payload is null || e.Payload.Count == 0) return;
        nint type = e.Payload[0] switch { nint p => p, ulong u => (nint)u, long l => (nint)l, _ => 0 };
        if (type == _sentinelType) _sentinelsSeen++;
        else if (_counting && _watched.ContainsKey(type)) _counts.AddOrUpdate(type, 1, (_, n) => n + 1);
    }

    private sealed class Sentinel
    {
        ~Sentinel() { }
    }
}
