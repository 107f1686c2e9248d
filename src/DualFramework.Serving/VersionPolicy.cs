namespace DualFramework.Serving;

/// <summary>Which versions of a model are served (TF-Serving's model version policy).</summary>
public abstract record VersionPolicy
{
    private VersionPolicy() { }

    /// <summary>The <paramref name="count"/> highest versions that load (default: the latest one).</summary>
    public static VersionPolicy Latest(int count = 1) =>
        count > 0 ? new LatestPolicy(count) : throw new ArgumentOutOfRangeException(nameof(count), count, "the latest-versions count must be positive");

    /// <summary>Every version in the repository.</summary>
    public static VersionPolicy All { get; } = new AllPolicy();

    /// <summary>Only the listed versions.</summary>
    public static VersionPolicy Specific(params long[] versions) =>
        versions.Length > 0 ? new SpecificPolicy(versions.ToHashSet()) : throw new ArgumentException("name at least one version", nameof(versions));

    /// <summary>Parses <c>latest</c>, <c>latest:N</c>, <c>all</c> or <c>specific:1,3</c> (as <c>--version-policy</c> takes it).</summary>
    public static VersionPolicy Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(':', 2);
        switch (parts[0].Trim().ToLowerInvariant())
        {
            case "latest" when parts.Length == 1:
                return Latest();
            case "latest" when int.TryParse(parts[1], out int n) && n > 0:
                return Latest(n);
            case "all" when parts.Length == 1:
                return All;
            case "specific" when parts.Length == 2:
                var versions = parts[1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (versions.Length > 0 && versions.All(v => long.TryParse(v, out long x) && x > 0))
                    return Specific(versions.Select(long.Parse).ToArray());
                break;
        }
        throw new FormatException($"unknown version policy '{text}': use latest, latest:N, all or specific:V1,V2");
    }

    /// <summary>Whether <paramref name="version"/> may be served at all.</summary>
    internal abstract bool Allows(long version);

    /// <summary>How many of the allowed versions are served, highest first (int.MaxValue for all of them).</summary>
    internal abstract int Count { get; }

    private sealed record LatestPolicy(int N) : VersionPolicy
    {
        internal override bool Allows(long version) => true;
        internal override int Count => N;
        public override string ToString() => N == 1 ? "latest" : $"latest:{N}";
    }

    private sealed record AllPolicy : VersionPolicy
    {
        internal override bool Allows(long version) => true;
        internal override int Count => int.MaxValue;
        public override string ToString() => "all";
    }

    private sealed record SpecificPolicy(HashSet<long> Versions) : VersionPolicy
    {
        internal override bool Allows(long version) => Versions.Contains(version);
        internal override int Count => int.MaxValue;
        public override string ToString() => "specific:" + string.Join(",", Versions.Order());
    }
}
