using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace DualFramework.Fuzz.Mutators;

/// <summary>
/// Structure-aware mutations of a safetensors file: the JSON header is parsed, its entries changed (dtypes, shapes,
/// offsets, names, metadata, nesting) and re-serialized; the length prefix and the data section are changed apart.
/// </summary>
public static class SafeTensorsMutator
{
    private static readonly string[] DTypes =
        ["F32", "F64", "F16", "BF16", "I64", "I32", "I8", "U8", "BOOL", "I16", "U16", "U32", "U64", "F8_E4M3", "C64", "f32", "", "F32 ", "F\u00e932"];

    private static readonly long[] Dims = [0, 1, 2, 3, -1, -2, 7, 1 << 16, 1L << 31, 1L << 32, 1L << 62, long.MaxValue, long.MinValue];

    /// <summary>A mutation of the safetensors image <paramref name="file"/> (which must be well formed).</summary>
    public static byte[] Mutate(Random rng, byte[] file)
    {
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        var header = (JsonObject)JsonNode.Parse(file.AsSpan(8, (int)n))!;
        var data = file.AsSpan(8 + (int)n).ToArray();
        // Without the checksum, changed data and shapes reach tensor creation instead of ending at the checksum.
        if (rng.Next(2) == 0 && header["__metadata__"] is JsonObject meta0)
        {
            meta0.Remove("dualframework.sha256");
            meta0.Remove("dualframework.format_version");
        }
        string? text = null;
        for (int k = 1 + rng.Next(3); k > 0; k--)
        {
            var names = header.Select(p => p.Key).Where(p => p != "__metadata__").ToList();
            var name = names.Count > 0 ? names[rng.Next(names.Count)] : null;
            var entry = name != null ? header[name] as JsonObject : null;
            switch (rng.Next(16))
            {
                case 0 when entry != null:
                    entry["dtype"] = rng.Next(8) == 0 ? JsonValue.Create(5) : DTypes[rng.Next(DTypes.Length)];
                    break;
                case 1 when entry != null && entry["shape"] is JsonArray shape && shape.Count > 0:
                    shape[rng.Next(shape.Count)] = Dims[rng.Next(Dims.Length)];
                    break;
                case 2 when entry != null && entry["shape"] is JsonArray shape:
                    if (rng.Next(2) == 0) shape.Add(Dims[rng.Next(Dims.Length)]);
                    else if (shape.Count > 0) shape.RemoveAt(rng.Next(shape.Count));
                    break;
                case 3 when entry != null: // ranks far over the limit, or dims that are not integers
                    entry["shape"] = rng.Next(2) == 0
                        ? new JsonArray(Enumerable.Repeat(0, 65 + rng.Next(2000)).Select(_ => (JsonNode?)JsonValue.Create(1)).ToArray())
                        : new JsonArray(JsonValue.Create(1.5), JsonValue.Create("3"), null);
                    break;
                case 4 when entry != null && entry["data_offsets"] is JsonArray off && off.Count == 2:
                    off[rng.Next(2)] = rng.Next(3) == 0 ? Dims[rng.Next(Dims.Length)] : Long(off[rng.Next(2)]) + rng.Next(-9, 10);
                    break;
                case 5 when entry != null && names.Count > 1: // overlap another tensor
                    entry["data_offsets"] = (header[names[rng.Next(names.Count)]] as JsonObject)?["data_offsets"]?.DeepClone();
                    break;
                case 6 when entry != null:
                    entry["data_offsets"] = rng.Next(3) switch
                    {
                        0 => new JsonArray(JsonValue.Create(0)),
                        1 => new JsonArray(JsonValue.Create(0), JsonValue.Create(4), JsonValue.Create(8)),
                        _ => new JsonArray(JsonValue.Create(-8), JsonValue.Create(-4)),
                    };
                    break;
                case 7 when entry != null:
                    entry.Remove(new[] { "dtype", "shape", "data_offsets" }[rng.Next(3)]);
                    break;
                case 8 when name != null: // renames: model./optimizer. prefixes, empty, long, the metadata key
                    {
                        var value = header[name]!;
                        header.Remove(name);
                        string[] renames = ["", "__metadata__", "other." + name, name[(name.IndexOf('.') + 1)..], name + ".x", new string('n', 5000)];
                        header[renames[rng.Next(renames.Length)]] = value;
                    }
                    break;
                case 9 when name != null:
                    header[name] = rng.Next(3) switch { 0 => JsonValue.Create(1), 1 => new JsonArray(), _ => null };
                    break;
                case 10:
                    MutateMetadata(rng, header);
                    break;
                case 11: // deep nesting under the metadata or an entry
                    {
                        int depth = new[] { 7, 8, 9, 64, 5000 }[rng.Next(5)];
                        var nested = new string('[', depth) + new string(']', depth);
                        text = (text ?? header.ToJsonString()).Insert(1, $"\"deep\":{nested},");
                    }
                    break;
                case 12 when name != null: // a duplicate key (JsonObject cannot hold one: textual)
                    text = (text ?? header.ToJsonString()).Insert(1, $"{JsonValue.Create(name).ToJsonString()}:{header[name]?.ToJsonString() ?? "null"},");
                    break;
                case 13:
                    data = Resize(rng, data);
                    break;
                case 14 when data.Length > 0:
                    data[rng.Next(data.Length)] ^= (byte)(1 << rng.Next(8));
                    break;
                default:
                    header["extra." + rng.Next(4)] = new JsonObject { ["dtype"] = "F32", ["shape"] = new JsonArray(JsonValue.Create(1)), ["data_offsets"] = new JsonArray(JsonValue.Create(data.Length), JsonValue.Create(data.Length + 4)) };
                    if (rng.Next(2) == 0) data = [.. data, 0, 0, 128, 63];
                    break;
            }
        }
        var json = Encoding.UTF8.GetBytes(text ?? header.ToJsonString());
        if (rng.Next(10) == 0) json[rng.Next(json.Length)] = (byte)(0x80 + rng.Next(128)); // invalid UTF-8
        ulong prefix = (ulong)json.Length;
        if (rng.Next(10) == 0)
            prefix = rng.Next(4) switch { 0 => prefix + (ulong)rng.Next(1, 64), 1 => prefix - (ulong)Math.Min(json.Length, rng.Next(1, 64)), 2 => ulong.MaxValue - (ulong)rng.Next(16), _ => (ulong)rng.Next(3) };
        var result = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(result, prefix);
        json.CopyTo(result, 8);
        data.CopyTo(result, 8 + json.Length);
        return result;
    }

    private static void MutateMetadata(Random rng, JsonObject header)
    {
        if (header["__metadata__"] is not JsonObject meta)
        {
            header["__metadata__"] = rng.Next(2) == 0 ? new JsonArray() : new JsonObject();
            return;
        }
        string[] keys = ["dualframework.kind", "dualframework.format_version", "dualframework.sha256", "training.epoch", "training.step", "training.rng", "user.note"];
        string[] values = ["", "0", "1", "2", "01", "-1", "abc", "99999999999999999999999", "training_checkpoint", new string('a', 64), new string('A', 64), "9223372036854775808"];
        var key = keys[rng.Next(keys.Length)];
        switch (rng.Next(4))
        {
            case 0: meta[key] = values[rng.Next(values.Length)]; break;
            case 1: meta.Remove(key); break;
            case 2: meta[key] = rng.Next(2) == 0 ? JsonValue.Create(1) : new JsonObject(); break;
            default: meta[key] = new string('x', 1 + rng.Next(100_000)); break;
        }
    }

    private static long Long(JsonNode? node) => node is JsonValue v && v.TryGetValue<long>(out var x) ? x : 0;

    private static byte[] Resize(Random rng, byte[] data)
    {
        int len = rng.Next(3) switch
        {
            0 => Math.Max(0, data.Length - 1 - rng.Next(16)),
            1 => data.Length + 1 + rng.Next(16),
            _ => rng.Next(data.Length + 1),
        };
        var r = new byte[len];
        data.AsSpan(0, Math.Min(len, data.Length)).CopyTo(r);
        return r;
    }
}
