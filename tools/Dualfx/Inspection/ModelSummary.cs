using System.Globalization;
using System.Text.Json.Nodes;
using DualFramework.Tools.Dualfx.Output;

namespace DualFramework.Tools.Dualfx.Inspection;

/// <summary>One table of an inspection report.</summary>
internal sealed record SummaryTable(string Title, IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>What <c>dualfx inspect</c> found in a file: key facts, then tables (inputs, outputs, ops, tensors…).</summary>
internal sealed record ModelSummary(IReadOnlyList<(string Key, string Value)> Facts, IReadOnlyList<SummaryTable> Tables)
{
    /// <summary>Parameter (initializer or tensor) count, summed over elements.</summary>
    public long ParameterCount { get; init; }

    /// <summary>Bytes of parameter data.</summary>
    public long ParameterBytes { get; init; }

    /// <summary>Nodes per op type (empty for weight files).</summary>
    public IReadOnlyDictionary<string, int> OpCounts { get; init; } = new Dictionary<string, int>();

    public void WriteTo(Reporter r)
    {
        r.Table("summary", ["property", "value"], Facts.Select(f => (IReadOnlyList<string>)[f.Key, f.Value]));
        foreach (var t in Tables.Where(t => t.Rows.Count > 0)) r.Table(t.Title, t.Columns, t.Rows);
    }

    /// <summary>The report as one JSON object: the facts, the parameter totals, the op counts and every table (rows as
    /// objects keyed by column).</summary>
    public JsonObject ToJson()
    {
        var facts = new JsonObject();
        foreach (var (k, v) in Facts) facts[k] = v;
        var ops = new JsonObject();
        foreach (var (op, n) in OpCounts.OrderBy(p => p.Key, StringComparer.Ordinal)) ops[op] = n;
        var tables = new JsonObject();
        foreach (var t in Tables)
            tables[t.Title] = new JsonArray(t.Rows.Select(row =>
            {
                var o = new JsonObject();
                for (int i = 0; i < t.Columns.Count && i < row.Count; i++) o[t.Columns[i]] = row[i];
                return (JsonNode)o;
            }).ToArray());
        return new JsonObject
        {
            ["command"] = "inspect",
            ["facts"] = facts,
            ["parameters"] = ParameterCount,
            ["parameter_bytes"] = ParameterBytes,
            ["ops"] = ops,
            ["tables"] = tables,
        };
    }

    /// <summary>A byte count with its binary-prefixed size, e.g. "46,827,520 (44.7 MiB)".</summary>
    public static string Bytes(long n)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = n;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1) (v, u) = (v / 1024, u + 1);
        return u == 0 ? string.Create(CultureInfo.InvariantCulture, $"{n} B") : string.Create(CultureInfo.InvariantCulture, $"{n:N0} ({v:F1} {units[u]})");
    }

    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
