using System.Buffers.Binary;
using System.IO.Compression;
using DualFramework.Data;
using DualFramework.Fuzz.Mutators;

namespace DualFramework.Fuzz.Targets;

/// <summary>
/// <see cref="IdxReader.Read(string, long)"/> on mutations of the Fashion-MNIST files: the real test-set labels (raw and
/// gzip), the first images of the test set re-headed as small files, the same pixels stored as every IDX element type,
/// and, rarely, the whole 4.4 MB test-image file. Documented: <see cref="InvalidDataException"/>.
/// </summary>
public sealed class IdxTarget : FuzzTarget
{
    private readonly List<byte[]> _raw = [];
    private readonly byte[] _fullImagesGz;
    private readonly string _dir;
    private readonly string _file;

    /// <param name="dataDirectory">The Fashion-MNIST folder (<see cref="FashionMnist.DefaultDirectory"/> by default).</param>
    public IdxTarget(string? dataDirectory = null)
    {
        var dir = dataDirectory ?? FashionMnist.DefaultDirectory;
        var labels = Gunzip(File.ReadAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz")));
        _fullImagesGz = File.ReadAllBytes(Path.Combine(dir, "t10k-images-idx3-ubyte.gz"));
        var images = Gunzip(_fullImagesGz);
        _raw.Add(labels);
        _raw.Add(WithDims(labels.AsSpan(0, 8 + 100).ToArray(), [100]));
        foreach (int k in new[] { 1, 4, 16 })
            _raw.Add(WithDims(images.AsSpan(0, 16 + k * 784).ToArray(), [k, 28, 28]));
        // Two images as each wider element type (the pixel values, big-endian), and one as a rank-4 array.
        var pixels = images.AsSpan(16, 2 * 784).ToArray();
        foreach (var type in new[] { IdxDataType.Int8, IdxDataType.Int16, IdxDataType.Int32, IdxDataType.Float32, IdxDataType.Float64 })
            _raw.Add(Encode(type, [2, 28, 28], pixels));
        _raw.Add(Encode(IdxDataType.UInt8, [2, 1, 28, 28], pixels));
        _dir = Directory.CreateTempSubdirectory("df-fuzz-idx-").FullName;
        _file = Path.Combine(_dir, "input.idx");
    }

    /// <inheritdoc/>
    public override string Name => "idx";

    /// <inheritdoc/>
    public override string Extension => ".idx";

    /// <inheritdoc/>
    public override IEnumerable<byte[]> Seeds() => _raw.Append(Gzip(_raw[^1]));

    /// <inheritdoc/>
    public override byte[] Generate(Random rng, int index)
    {
        if (rng.Next(400) == 0) return rng.Next(2) == 0 ? _fullImagesGz : ByteMutator.Mutate(rng, _fullImagesGz);
        var seed = _raw[rng.Next(_raw.Count)];
        int kind = rng.Next(100);
        if (kind < 60)
        {
            var d = seed.ToList();
            for (int k = 1 + rng.Next(2); k > 0; k--) MutateHeader(rng, d);
            if (rng.Next(4) == 0) ByteMutator.MutateOnce(rng, d);
            var bytes = d.ToArray();
            return rng.Next(5) < 2 ? Gzip(bytes) : bytes;
        }
        if (kind < 85) return ByteMutator.Mutate(rng, seed, other: _raw[rng.Next(_raw.Count)]);
        // A damaged gzip container: header flags, CRC, size trailer or deflate blocks.
        return ByteMutator.Mutate(rng, Gzip(seed));
    }

    /// <inheritdoc/>
    public override long Load(byte[] input)
    {
        File.WriteAllBytes(_file, input);
        _ = IdxReader.Read(_file);
        return 0;
    }

    /// <inheritdoc/>
    public override bool IsDocumented(Exception e) => e is InvalidDataException;

    /// <inheritdoc/>
    public override void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        base.Dispose();
    }

    // Header-aware mutations: magic, element type, rank, dimensions (huge, zero, negative, off by one) and data length.
    private static void MutateHeader(Random rng, List<byte> d)
    {
        if (d.Count < 4) return;
        int rank = d[3];
        switch (rng.Next(7))
        {
            case 0:
                d[rng.Next(2)] = (byte)rng.Next(256);
                break;
            case 1: // a wrong dtype: another valid code (sizes no longer match) or an unknown one
                byte[] codes = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x0A, 0x0F, 0xFF];
                d[2] = codes[rng.Next(codes.Length)];
                break;
            case 2:
                d[3] = (byte)(rng.Next(3) == 0 ? rng.Next(256) : rng.Next(6));
                break;
            case 3:
            case 4: // one dimension
                {
                    int i = rng.Next(Math.Max(1, rank));
                    if (4 + 4 * i + 4 > d.Count) break;
                    int old = BinaryPrimitives.ReadInt32BigEndian(d.GetRange(4 + 4 * i, 4).ToArray());
                    int[] choices = [0, -1, 1, old + 1, old - 1, old * 2, int.MaxValue, int.MinValue, 1 << 16, 1 << 20, 65535, 46341];
                    var b = new byte[4];
                    BinaryPrimitives.WriteInt32BigEndian(b, choices[rng.Next(choices.Length)]);
                    for (int k = 0; k < 4; k++) d[4 + 4 * i + k] = b[k];
                }
                break;
            case 5: // data shorter or longer than the header promises
                if (rng.Next(2) == 0)
                {
                    int cut = Math.Min(d.Count, 1 + rng.Next(64));
                    d.RemoveRange(d.Count - cut, cut);
                }
                else d.AddRange(new byte[1 + rng.Next(64)]);
                break;
            default: // the header alone, cut anywhere
                {
                    int keep = Math.Min(d.Count, rng.Next(4 + 4 * Math.Max(rank, 1) + 1));
                    d.RemoveRange(keep, d.Count - keep);
                }
                break;
        }
    }

    private static byte[] WithDims(byte[] raw, int[] dims)
    {
        var headerLength = 4 + 4 * raw[3];
        var data = raw.AsSpan(headerLength).ToArray();
        var result = new byte[4 + 4 * dims.Length + data.Length];
        result[2] = raw[2];
        result[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(result.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(result, 4 + 4 * dims.Length);
        return result;
    }

    private static byte[] Encode(IdxDataType type, int[] dims, byte[] pixels)
    {
        int size = IdxReader.ElementSize(type);
        var header = 4 + 4 * dims.Length;
        var result = new byte[header + pixels.Length * size];
        result[2] = (byte)type;
        result[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(result.AsSpan(4 + 4 * i), dims[i]);
        var o = result.AsSpan(header);
        for (int i = 0; i < pixels.Length; i++)
        {
            var at = o[(i * size)..];
            switch (type)
            {
                case IdxDataType.UInt8: at[0] = pixels[i]; break;
                case IdxDataType.Int8: at[0] = (byte)(pixels[i] - 128); break;
                case IdxDataType.Int16: BinaryPrimitives.WriteInt16BigEndian(at, pixels[i]); break;
                case IdxDataType.Int32: BinaryPrimitives.WriteInt32BigEndian(at, pixels[i]); break;
                case IdxDataType.Float32: BinaryPrimitives.WriteSingleBigEndian(at, pixels[i] / 255f); break;
                default: BinaryPrimitives.WriteDoubleBigEndian(at, pixels[i] / 255.0); break;
            }
        }
        return result;
    }

    internal static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    private static byte[] Gunzip(byte[] data)
    {
        using var gz = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        gz.CopyTo(ms);
        return ms.ToArray();
    }
}
