using System.Globalization;
using System.Text;

namespace DualFramework.Quantization;

/// <summary>One parameter of a <see cref="SparsityReport"/>.</summary>
/// <param name="Name">Dotted parameter name (e.g. <c>3.weight</c>).</param>
/// <param name="Elements">Number of entries.</param>
/// <param name="Zeros">Entries equal to zero (pruned or not).</param>
/// <param name="Pruned">Whether the parameter carries a pruning mask.</param>
public sealed record SparsityRow(string Name, long Elements, long Zeros, bool Pruned)
{
    /// <summary>Zeros / elements (0 for an empty tensor).</summary>
    public double Sparsity => Elements == 0 ? 0 : (double)Zeros / Elements;
}

/// <summary>Per-parameter sparsity of a model (<see cref="Pruning.Report"/>), with totals; <see cref="ToString"/> prints a table.</summary>
public sealed class SparsityReport
{
    internal SparsityReport(IReadOnlyList<SparsityRow> rows) => Rows = rows;

    /// <summary>One row per floating parameter, in state-dict order.</summary>
    public IReadOnlyList<SparsityRow> Rows { get; }

    /// <summary>Entries over all rows.</summary>
    public long Elements => Rows.Sum(r => r.Elements);

    /// <summary>Zeros over all rows.</summary>
    public long Zeros => Rows.Sum(r => r.Zeros);

    /// <summary>Total zeros / total entries.</summary>
    public double Sparsity => Elements == 0 ? 0 : (double)Zeros / Elements;

    /// <summary>The row of parameter <paramref name="name"/>.</summary>
    public SparsityRow this[string name] => Rows.FirstOrDefault(r => r.Name == name) ?? throw new KeyNotFoundException($"No parameter '{name}' in the report.");

    /// <summary>A fixed-width table: name, elements, zeros, sparsity, pruned, and a total line.</summary>
    public override string ToString()
    {
        int w = Math.Max(5, Rows.Select(r => r.Name.Length).DefaultIfEmpty(0).Max());
        var sb = new StringBuilder();
        void Line(string name, string elements, string zeros, string sparsity, string pruned) =>
            sb.Append(CultureInfo.InvariantCulture, $"{name.PadRight(w)}  {elements,10}  {zeros,10}  {sparsity,9}  {pruned}").Append('\n');
        Line("name", "elements", "zeros", "sparsity", "pruned");
        foreach (var r in Rows) Line(r.Name, r.Elements.ToString(CultureInfo.InvariantCulture), r.Zeros.ToString(CultureInfo.InvariantCulture), PruningMasks.Percent(r.Sparsity), r.Pruned ? "yes" : "no");
        Line("total", Elements.ToString(CultureInfo.InvariantCulture), Zeros.ToString(CultureInfo.InvariantCulture), PruningMasks.Percent(Sparsity), "");
        return sb.ToString();
    }
}
