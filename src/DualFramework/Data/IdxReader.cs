using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DualFramework.Data;

/// <summary>The element types of the IDX format (the third header byte).</summary>
public enum IdxDataType : byte
{
    /// <summary>Unsigned byte (<c>0x08</c>), read as <see cref="byte"/>.</summary>
    UInt8 = 0x08,

    /// <summary>Signed byte (<c>0x09</c>), read as <see cref="sbyte"/>.</summary>
    Int8 = 0x09,

    /// <summary>Big-endian 16-bit integer (<c>0x0B</c>), read as <see cref="short"/>.</summary>
    Int16 = 0x0B,

    /// <summary>Big-endian 32-bit integer (<c>0x0C</c>), read as <see cref="int"/>.</summary>
    Int32 = 0x0C,

    /// <summary>Big-endian IEEE 754 single (<c>0x0D</c>), read as <see cref="float"/>.</summary>
    Float32 = 0x0D,

    /// <summary>Big-endian IEEE 754 double (<c>0x0E</c>), read as <see cref="double"/>.</summary>
    Float64 = 0x0E,
}

/// <summary>An array read from an IDX file: element type, dimensions and the elements in host byte order.</summary>
public sealed class IdxArray
{
    internal IdxArray(IdxDataType dataType, long[] dims, Array data)
    {
        DataType = dataType;
        Shape = new Shape(dims);
        Data = data;
    }

    /// <summary>The element type.</summary>
    public IdxDataType DataType { get; }

    /// <summary>The dimensions, outermost first.</summary>
    public Shape Shape { get; }

    /// <summary>
    /// The elements, row-major: a <c>byte[]</c>, <c>sbyte[]</c>, <c>short[]</c>, <c>int[]</c>, <c>float[]</c> or
    /// <c>double[]</c> according to <see cref="DataType"/>.
    /// </summary>
    public Array Data { get; }

    /// <summary>The elements as <typeparamref name="T"/>[] (no copy).</summary>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> does not match <see cref="DataType"/>.</exception>
    public T[] GetData<T>() where T : unmanaged =>
        Data as T[] ?? throw new InvalidOperationException($"The IDX array holds {DataType} elements ({Data.GetType().Name}), not {typeof(T).Name}.");
}

/// <summary>
/// Reads IDX files (the MNIST container format), raw or gzip-compressed, validating the header against the data before
/// allocating anything large.
/// </summary>
/// <remarks>
/// Layout: two zero bytes, a type code (<see cref="IdxDataType"/>), the rank, then <c>rank</c> big-endian int32
/// dimensions, then the elements big-endian, row-major. Gzip input is recognised by its magic bytes, whatever the file
/// name. Every format problem raises <see cref="InvalidDataException"/> naming the file.
/// </remarks>
public static class IdxReader
{
    /// <summary>The largest data size accepted by default: 2 GiB.</summary>
    public const long DefaultMaxDataBytes = 2L << 30;

    /// <summary>The largest rank accepted.</summary>
    public const int MaxRank = 4;

    // Deflate cannot expand data by more than about 1032:1; a header promising more than this is certainly lying.
    private const long MaxDeflateRatio = 1100;
    private const int ChunkBytes = 1 << 20;
    private const int InitialGzipBuffer = 16 << 20;

    /// <summary>Reads an IDX file (raw or .gz).</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxDataBytes">The largest data size accepted.</param>
    /// <exception cref="InvalidDataException">The file is not a valid IDX file (message names the file and the problem).</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static IdxArray Read(string path, long maxDataBytes = DefaultMaxDataBytes)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        long fileLength = file.Length;
        Span<byte> sniff = stackalloc byte[2];
        int got = ReadFully(file, sniff, path);
        file.Position = 0;
        if (got == 2 && sniff[0] == 0x1F && sniff[1] == 0x8B)
        {
            using var gz = new GZipStream(file, CompressionMode.Decompress, leaveOpen: true);
            // The deflate bound lets a lying header be rejected before a large buffer exists.
            long plausible = checked(fileLength * MaxDeflateRatio + ChunkBytes);
            return ReadCore(gz, path, knownLength: null, Math.Min(maxDataBytes, plausible), maxDataBytes);
        }
        return ReadCore(file, path, fileLength, maxDataBytes, maxDataBytes);
    }

    /// <summary>Reads an IDX array from an uncompressed stream (wrap gzip data in a <see cref="GZipStream"/> first).</summary>
    /// <param name="stream">The stream, positioned at the IDX header; it is read to its end.</param>
    /// <param name="name">A name for error messages (usually the file name).</param>
    /// <param name="maxDataBytes">The largest data size accepted.</param>
    /// <exception cref="InvalidDataException">The stream is not a valid IDX array.</exception>
    public static IdxArray Read(Stream stream, string name, long maxDataBytes = DefaultMaxDataBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        long? known = stream.CanSeek ? stream.Length - stream.Position : null;
        return ReadCore(stream, name, known, maxDataBytes, maxDataBytes);
    }

    /// <summary>The size in bytes of one element of <paramref name="type"/>.</summary>
    public static int ElementSize(IdxDataType type) => type switch
    {
        IdxDataType.UInt8 or IdxDataType.Int8 => 1,
        IdxDataType.Int16 => 2,
        IdxDataType.Int32 or IdxDataType.Float32 => 4,
        IdxDataType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Not an IDX element type."),
    };

    private static IdxArray ReadCore(Stream s, string name, long? knownLength, long plausibleBytes, long maxDataBytes)
    {
        try
        {
            Span<byte> head = stackalloc byte[4];
            int got = ReadFully(s, head, name);
            if (got < 4) throw Bad(name, $"truncated header: {got} of 4 magic bytes present");
            if (head[0] != 0 || head[1] != 0)
                throw Bad(name, $"wrong magic number 0x{head[0]:X2}{head[1]:X2}{head[2]:X2}{head[3]:X2} (an IDX file starts with two zero bytes)");
            var type = (IdxDataType)head[2];
            if (!Enum.IsDefined(type)) throw Bad(name, $"unknown element type code 0x{head[2]:X2} (expected 08, 09, 0B, 0C, 0D or 0E)");
            int rank = head[3];
            if (rank < 1 || rank > MaxRank) throw Bad(name, $"rank {rank} is not supported (1 to {MaxRank})");

            Span<byte> dimBytes = stackalloc byte[4 * MaxRank];
            dimBytes = dimBytes[..(4 * rank)];
            got = ReadFully(s, dimBytes, name);
            if (got < dimBytes.Length) throw Bad(name, $"truncated header: {got} of {dimBytes.Length} dimension bytes present");
            var dims = new long[rank];
            long count = 1;
            bool overflow = false;
            for (int i = 0; i < rank; i++)
            {
                int d = BinaryPrimitives.ReadInt32BigEndian(dimBytes[(4 * i)..]);
                if (d <= 0) throw Bad(name, $"dimension {i} is {d} (dimensions must be positive)");
                dims[i] = d;
                // Each factor is < 2^31 and the product is checked before it can exceed 2^62, so this never wraps.
                if (!overflow) count *= d;
                if (count > int.MaxValue) overflow = true;
            }
            string shape = "[" + string.Join(", ", dims) + "]";
            int elementSize = ElementSize(type);
            if (overflow || count > Array.MaxLength)
                throw Bad(name, $"shape {shape} has more elements than an array can hold ({Array.MaxLength})");
            long dataBytes = count * elementSize;
            if (dataBytes > maxDataBytes)
                throw Bad(name, $"shape {shape} of {type} needs {dataBytes} bytes, over the limit of {maxDataBytes} bytes");
            long headerBytes = 4 + 4L * rank;
            if (knownLength is { } len && len - headerBytes != dataBytes)
                throw Bad(name, $"the header promises {dataBytes} data bytes (shape {shape} of {type}) but the file has {len - headerBytes} after the {headerBytes}-byte header");
            if (knownLength is null && dataBytes > plausibleBytes)
                throw Bad(name, $"the header promises {dataBytes} data bytes (shape {shape} of {type}), more than the compressed file could hold");

            Array data = type switch
            {
                IdxDataType.UInt8 => ReadElements<byte>(s, name, (int)count, knownLength is not null),
                IdxDataType.Int8 => ReadElements<sbyte>(s, name, (int)count, knownLength is not null),
                IdxDataType.Int16 => Swap(ReadElements<short>(s, name, (int)count, knownLength is not null)),
                IdxDataType.Int32 => Swap(ReadElements<int>(s, name, (int)count, knownLength is not null)),
                IdxDataType.Float32 => Swap(ReadElements<float>(s, name, (int)count, knownLength is not null)),
                _ => Swap(ReadElements<double>(s, name, (int)count, knownLength is not null)),
            };
            Span<byte> probe = stackalloc byte[1];
            if (ReadFully(s, probe, name) != 0)
                throw Bad(name, $"extra data after the {dataBytes} bytes the header promises (shape {shape} of {type})");
            return new IdxArray(type, dims, data);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(Prefix(name), StringComparison.Ordinal))
        {
            // E.g. a corrupt gzip stream: GZipStream's message does not say which file.
            throw Bad(name, $"unreadable data ({e.Message})", e);
        }
    }

    // Reads count elements into an array that grows with the data actually present (when the length was not verified
    // upfront), so a short stream never causes an allocation of the full promised size.
    private static T[] ReadElements<T>(Stream s, string name, int count, bool lengthVerified) where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        int capacity = lengthVerified ? count : (int)Math.Min(count, Math.Max(1, InitialGzipBuffer / size));
        var result = new T[capacity];
        long total = (long)count * size;
        long done = 0;
        while (done < total)
        {
            var bytes = MemoryMarshal.AsBytes(result.AsSpan());
            if (done == bytes.Length)
            {
                Array.Resize(ref result, (int)Math.Min(count, (long)result.Length * 2));
                bytes = MemoryMarshal.AsBytes(result.AsSpan());
            }
            int want = (int)Math.Min(ChunkBytes, bytes.Length - done);
            int n = s.Read(bytes.Slice((int)done, want));
            if (n == 0)
                throw Bad(name, $"truncated data: the header promises {total} data bytes but only {done} are present");
            done += n;
        }
        return result;
    }

    private static T[] Swap<T>(T[] data) where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian) return data;
        var span = MemoryMarshal.AsBytes(data.AsSpan());
        switch (Unsafe.SizeOf<T>())
        {
            case 2: BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, short>(span), MemoryMarshal.Cast<byte, short>(span)); break;
            case 4: BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, int>(span), MemoryMarshal.Cast<byte, int>(span)); break;
            case 8: BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, long>(span), MemoryMarshal.Cast<byte, long>(span)); break;
        }
        return data;
    }

    private static int ReadFully(Stream s, Span<byte> buffer, string name)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n;
            try
            {
                n = s.Read(buffer[done..]);
            }
            catch (InvalidDataException e)
            {
                throw Bad(name, $"unreadable data ({e.Message})", e);
            }
            if (n == 0) break;
            done += n;
        }
        return done;
    }

    private static string Prefix(string name) => $"IDX file '{name}': ";

    private static InvalidDataException Bad(string name, string problem, Exception? inner = null) =>
        new(Prefix(name) + problem + ".", inner);
}
