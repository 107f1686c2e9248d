using System.Globalization;
using System.Text.Json;

namespace DualFramework.Training;

/// <summary>Appends one CSV row per epoch (header from the first epoch's metric names; invariant culture).</summary>
public sealed class CsvLogger(string path, bool append = false) : Callback
{
    private string[]? _columns;

    /// <inheritdoc />
    public override void OnTrainBegin(Trainer trainer)
    {
        if (!trainer.IsRoot) return; // replicas hold the same state; only rank 0 writes
        _columns = null;
        if (!append && File.Exists(path)) File.Delete(path);
        else if (append && File.Exists(path))
            _columns = File.ReadLines(path).FirstOrDefault()?.Split(',').Skip(1).ToArray();
    }

    /// <inheritdoc />
    public override void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (!trainer.IsRoot) return; // replicas hold the same state; only rank 0 writes
        if (_columns == null)
        {
            _columns = logs.Keys.Order(StringComparer.Ordinal).ToArray();
            File.AppendAllText(path, "epoch," + string.Join(",", _columns) + "\n");
        }
        var values = _columns.Select(c => logs.TryGetValue(c, out var v) ? v.ToString("R", CultureInfo.InvariantCulture) : "");
        File.AppendAllText(path, (epoch + 1).ToString(CultureInfo.InvariantCulture) + "," + string.Join(",", values) + "\n");
    }
}

/// <summary>Rewrites a JSON file after each epoch: <c>{"history":[{"epoch":1,"loss":…},…]}</c>.</summary>
public sealed class JsonHistoryLogger(string path) : Callback
{
    private readonly List<Dictionary<string, double>> _rows = [];

    /// <inheritdoc />
    public override void OnTrainBegin(Trainer trainer) => _rows.Clear();

    /// <inheritdoc />
    public override void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (!trainer.IsRoot) return; // replicas hold the same state; only rank 0 writes
        var row = new Dictionary<string, double> { ["epoch"] = epoch + 1 };
        foreach (var (k, v) in logs) row[k] = v;
        _rows.Add(row);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(new { history = _rows }));
        File.Move(tmp, path, overwrite: true);
    }
}
