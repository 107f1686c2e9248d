using System.Globalization;

namespace DualFramework.Fuzz;

/// <summary>How one input ended.</summary>
public enum Outcome
{
    /// <summary>The loader returned a result.</summary>
    Valid,

    /// <summary>The loader threw one of its documented exception types.</summary>
    Rejected,

    /// <summary>Any other exception, or an allocation over the bound.</summary>
    Crash,

    /// <summary>The load did not finish within the time bound.</summary>
    Hang,
}

/// <summary>A crash or hang: enough to reproduce it (<c>--seed</c>, <c>--index</c>) and the input itself.</summary>
public sealed record FuzzFailure(string Loader, int Index, Outcome Outcome, string Detail, byte[] Input);

/// <summary>The figures of one loader's run.</summary>
public sealed class FuzzReport(string loader)
{
    /// <summary>Loader name.</summary>
    public string Loader { get; } = loader;

    /// <summary>Inputs run.</summary>
    public int Inputs { get; set; }

    /// <summary>Inputs that loaded.</summary>
    public int Valid { get; set; }

    /// <summary>Inputs rejected with a documented exception.</summary>
    public int Rejected { get; set; }

    /// <summary>Crashes and hangs, in input order.</summary>
    public List<FuzzFailure> Failures { get; } = [];

    /// <summary>Inputs that ended in an undocumented exception or an allocation over the bound.</summary>
    public int Crashes => Failures.Count(f => f.Outcome == Outcome.Crash);

    /// <summary>Inputs that exceeded the time bound.</summary>
    public int Hangs => Failures.Count(f => f.Outcome == Outcome.Hang);

    /// <summary>Longest time one input took, in milliseconds (hangs excluded).</summary>
    public double MaxMs { get; set; }

    /// <summary>Largest allocation one input caused (managed plus the result's native tensors), in bytes.</summary>
    public long MaxAllocBytes { get; set; }

    /// <summary>The report line of scripts/fuzz.sh.</summary>
    public string ToJson() => string.Create(CultureInfo.InvariantCulture,
        $"{{\"loader\":\"{Loader}\",\"inputs\":{Inputs},\"crashes\":{Crashes},\"hangs\":{Hangs},\"max_ms\":{MaxMs:0.0},\"max_alloc_mb\":{MaxAllocBytes / (1024.0 * 1024.0):0.0},\"valid\":{Valid},\"rejected\":{Rejected}}}");
}
