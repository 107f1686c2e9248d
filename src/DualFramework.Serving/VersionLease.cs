namespace DualFramework.Serving;

/// <summary>A request's hold on a model version: the version's session stays alive until the lease is disposed.</summary>
public sealed class VersionLease : IDisposable
{
    private int _released;

    internal VersionLease(ServedVersion version) => Version = version;

    /// <summary>The leased version.</summary>
    public ServedVersion Version { get; }

    /// <summary>Ends the lease (once; later calls do nothing).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) Version.Release();
    }
}
