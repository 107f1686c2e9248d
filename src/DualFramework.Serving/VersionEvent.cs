namespace DualFramework.Serving;

/// <summary>What happened to a model version.</summary>
public enum VersionEventKind
{
    /// <summary>Loaded, warmed up and taking traffic.</summary>
    Published,
    /// <summary>Could not be loaded or warmed up; never served.</summary>
    Failed,
    /// <summary>Taken out of routing; in-flight requests still finish on it.</summary>
    Retired,
    /// <summary>Drained: its session was disposed.</summary>
    Disposed,
}

/// <summary>A change of a version's state, with its <see cref="System.Diagnostics.Stopwatch"/> timestamp.</summary>
/// <param name="Model">Model name.</param>
/// <param name="Version">Version number.</param>
/// <param name="Kind">What happened.</param>
/// <param name="Timestamp"><see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> when it happened.</param>
/// <param name="Error">Why a version failed.</param>
public sealed record VersionEvent(string Model, long Version, VersionEventKind Kind, long Timestamp, string? Error = null);

/// <summary>The state of one version as <c>GET /v1/models/NAME</c> reports it.</summary>
/// <param name="Version">Version number.</param>
/// <param name="State"><c>AVAILABLE</c>, <c>UNLOADING</c> (retired, draining), <c>END</c> (disposed) or <c>FAILED</c>.</param>
/// <param name="Error">The load error of a failed version.</param>
/// <param name="Served">The loaded version, while it is available or draining.</param>
public sealed record VersionStatus(long Version, string State, string? Error, ServedVersion? Served);
