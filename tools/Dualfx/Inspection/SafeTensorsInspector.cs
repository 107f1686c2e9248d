using System.Globalization;
using DualFramework.Checkpoints;

namespace DualFramework.Tools.Dualfx.Inspection;

/// <summary>Summarises a safetensors file or training checkpoint from its header alone (no tensor data is read).</summary>
internal static class SafeTensorsInspector
{
    public static ModelSummary Inspect(string path, bool allTensors)
    {
        var header = SafeTensors.ReadHeader(path);
        bool checkpoint = header.Metadata.TryGetValue(Checkpoint.KindKey, out var kind) && kind == Checkpoint.KindValue;
        long parameters = header.Entries.Sum(e => e.Spec.Shape.NumElements);
        long bytes = header.Entries.Sum(e => e.ByteLength);
        var facts = new List<(string, string)>
        {
            ("file", path),
            ("format", checkpoint ? "DualFramework training checkpoint (safetensors)" : "safetensors"),
            ("file size", ModelSummary.Bytes(new FileInfo(path).Length)),
            ("tensors", ModelSummary.Count(header.Entries.Count)),
            ("values", ModelSummary.Count(parameters)),
            ("data bytes", ModelSummary.Bytes(bytes)),
            ("checksum", header.HasChecksum ? "sha256 (verified on load)" : "none"),
        };
        if (checkpoint)
        {
            var model = header.Entries.Where(e => e.Name.StartsWith(Checkpoint.ModelPrefix, StringComparison.Ordinal)).ToList();
            facts.Add(("model parameters", $"{ModelSummary.Count(model.Sum(e => e.Spec.Shape.NumElements))} in {model.Count} tensors"));
            facts.Add(("optimizer tensors", ModelSummary.Count(header.Entries.Count(e => e.Name.StartsWith(Checkpoint.OptimizerPrefix, StringComparison.Ordinal)))));
        }
        // Groups by module path (the name up to its last dot) keep the table short for large models.
        var groups = header.Entries.GroupBy(e => e.Name.Contains('.') ? e.Name[..e.Name.LastIndexOf('.')] : "(root)")
            .Select(x => (IReadOnlyList<string>)[x.Key, ModelSummary.Count(x.Count()), string.Join(", ", x.Select(e => e.Spec.DType.Name()).Distinct()),
                ModelSummary.Count(x.Sum(e => e.Spec.Shape.NumElements)), ModelSummary.Bytes(x.Sum(e => e.ByteLength))]).ToList();
        var tensors = allTensors
            ? header.Entries.Select(e => (IReadOnlyList<string>)[e.Name, e.Spec.DType.Name(), Dims(e.Spec.Shape.ToArray()),
                ModelSummary.Bytes(e.ByteLength)]).ToList()
            : [];
        var metadata = header.Metadata.Where(kv => kv.Key != SafeTensors.ChecksumKey).OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (IReadOnlyList<string>)[kv.Key, kv.Value]).ToList();
        return new ModelSummary(facts,
        [
            new SummaryTable("tensor groups", ["group", "tensors", "dtype", "values", "bytes"], groups),
            new SummaryTable("tensors", ["name", "dtype", "shape", "bytes"], tensors),
            new SummaryTable("metadata", ["key", "value"], metadata),
        ])
        { ParameterCount = parameters, ParameterBytes = bytes };
    }

    /// <summary>True when the file starts like a safetensors file (8-byte header length, then '{').</summary>
    public static bool LooksLikeSafeTensors(string path)
    {
        Span<byte> head = stackalloc byte[9];
        using var f = File.OpenRead(path);
        return f.Read(head) == 9 && head[8] == (byte)'{' && BitConverter.ToUInt64(head[..8]) < (ulong)SafeTensors.MaxHeaderLength;
    }

    internal static string Dims(long[] dims) => "[" + string.Join(", ", dims.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";
}
