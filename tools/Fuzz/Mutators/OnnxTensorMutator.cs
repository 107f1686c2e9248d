using DualFramework.Onnx.Proto;
using Google.Protobuf;

namespace DualFramework.Fuzz.Mutators;

/// <summary>Field-level mutations of one ONNX <see cref="TensorProto"/> (an initializer or a Constant's value): dims,
/// element type, payload length and field, external-data references.</summary>
public static class OnnxTensorMutator
{
    /// <summary>Dimensions that break element counts: zero, negative, near and over the limits.</summary>
    public static readonly long[] Dims = [0, 1, 2, 3, -1, -7, 1 << 16, 1 << 28, 1L << 30, 1L << 31, 1L << 33, 1L << 62, long.MaxValue, long.MinValue];

    /// <summary>External-data locations: files in the model's folder (two real ones, a missing one, links that lead out)
    /// and paths that escape it.</summary>
    public static readonly string[] Locations =
    [
        "weights.bin", "sub/weights.bin", "./weights.bin", "sub/../weights.bin", "missing.bin", "escape.bin", "linkdir/passwd",
        "../../etc/passwd", "../weights.bin", "sub/../../weights.bin", "/etc/passwd", "C:\\weights.bin", "", "sub", ".", "weights.bin\0x",
        new string('a', 300), "~/weights.bin",
    ];

    /// <summary>One random mutation of <paramref name="t"/>, in place.</summary>
    public static void Mutate(Random rng, TensorProto t)
    {
        switch (rng.Next(9))
        {
            case 0:
                if (t.Dims.Count > 0) t.Dims[rng.Next(t.Dims.Count)] = Dims[rng.Next(Dims.Length)];
                else t.Dims.Add(Dims[rng.Next(Dims.Length)]);
                break;
            case 1:
                if (rng.Next(2) == 0 || t.Dims.Count == 0) t.Dims.Insert(rng.Next(t.Dims.Count + 1), rng.Next(2) == 0 ? 1 : Dims[rng.Next(Dims.Length)]);
                else t.Dims.RemoveAt(rng.Next(t.Dims.Count));
                break;
            case 2: // a wrong dtype: another valid one (payload size no longer matches), one DualFramework lacks, or no enum value
                t.DataType = rng.Next(4) == 0 ? new[] { -1, 0, 17, 100, int.MaxValue }[rng.Next(5)] : rng.Next(17);
                break;
            case 3: // payload shorter or longer
                {
                    var raw = t.RawData.ToByteArray();
                    int len = rng.Next(3) switch { 0 => rng.Next(raw.Length + 1), 1 => raw.Length + 1 + rng.Next(16), _ => 0 };
                    Array.Resize(ref raw, len);
                    t.RawData = ByteString.CopyFrom(raw);
                }
                break;
            case 4: // the payload moved to a typed field, with the right count or one off
                {
                    long n = t.Dims.Aggregate(1L, (a, d) => a * Math.Clamp(d, 0, 1 << 12));
                    int count = (int)Math.Clamp(n + rng.Next(-1, 2), 0, 1 << 14);
                    t.RawData = ByteString.Empty;
                    switch (rng.Next(4))
                    {
                        case 0: t.FloatData.Add(Enumerable.Repeat(float.NaN, count)); break;
                        case 1: t.Int64Data.Add(Enumerable.Repeat(long.MinValue, count)); break;
                        case 2: t.Int32Data.Add(Enumerable.Repeat(-1, count)); break;
                        default: t.DoubleData.Add(Enumerable.Repeat(double.PositiveInfinity, count)); break;
                    }
                }
                break;
            case 5:
            case 6: // external data
                t.DataLocation = TensorProto.Types.DataLocation.External;
                t.RawData = ByteString.Empty;
                t.ExternalData.Clear();
                if (rng.Next(10) > 0) t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = Locations[rng.Next(Locations.Length)] });
                string[] numbers = ["0", "4", "4096", "4095", "-1", "abc", "9223372036854775807", "18446744073709551616", " 8", "0x10"];
                if (rng.Next(2) == 0) t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = numbers[rng.Next(numbers.Length)] });
                if (rng.Next(2) == 0) t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = numbers[rng.Next(numbers.Length)] });
                if (rng.Next(4) == 0) t.ExternalData.Add(t.ExternalData.FirstOrDefault()?.Clone() ?? new StringStringEntryProto());
                break;
            case 7:
                t.DataLocation = (TensorProto.Types.DataLocation)rng.Next(-1, 4);
                break;
            default:
                t.StringData.Add(ByteString.CopyFromUtf8("text"));
                break;
        }
    }
}
