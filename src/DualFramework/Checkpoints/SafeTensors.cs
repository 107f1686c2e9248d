using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using DualFramework.Backends;

namespace DualFramework.Checkpoints;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="Spec">Shape and dtype.</param>
/// <param name="Begin">Start of the tensor's bytes, relative to the data section.</param>
/// <param name="End">End (exclusive) of the tensor's bytes, relative to the data section.</param>
public readonly record struct SafeTensorsEntry(string Name, TensorSpec Spec, long Begin, long End)
{
    /// <summary>Number of bytes of the tensor's data.</summary>
    public long ByteLength => End - Begin;
}

/// <summary>A parsed and validated safetensors header (see <see cref="SafeTensors.ReadHeader(string)"/>).</summary>
public sealed class SafeTensorsHeader
{
    internal SafeTensorsHeader(IReadOnlyList<SafeTensorsEntry> entries, IReadOnlyDictionary<string, string> metadata, long headerLength, long dataLength)
    {
        Entries = entries;
        Metadata = metadata;
        HeaderLength = headerLength;
        DataLength = dataLength;
    }

    /// <summary>The tensors, sorted by name (ordinal).</summary>
    public IReadOnlyList<SafeTensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> object (empty when absent), including DualFramework's own keys.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Length N of the JSON header in bytes (including padding).</summary>
    public long HeaderLength { get; }

    /// <summary>Offset of the data section from the start of the file (8 + N).</summary>
    public long DataOffset => 8 + HeaderLength;

    /// <summary>Length of the data section in bytes.</summary>
    public long DataLength { get; }

    /// <summary>True when the header carries a DualFramework checksum (files written by other tools have none).</summary>
    public bool HasChecksum => Metadata.ContainsKey(SafeTensors.ChecksumKey);
}

/// <summary>
/// Reads and writes tensors in the safetensors format: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// (name → dtype, shape, data offsets, plus an optional <c>__metadata__</c> string map), then the tightly packed
/// row-major little-endian tensor data. Files interoperate with the Python <c>safetensors</c> package and PyTorch.
/// </summary>
/// <remarks>
/// <para>Writing is deterministic (tensors and metadata keys sorted by ordinal name, compact JSON padded with spaces so the
/// data section is 8-byte aligned) and atomic (<see cref="Save"/> writes a temporary file in the same directory, flushes it
/// to disk and renames it over the target). Every file written records <see cref="FormatVersionKey"/> and a SHA-256
/// checksum under <see cref="ChecksumKey"/>; the checksum covers the tensor names, dtypes, shapes, offsets, the other
/// metadata and the data section (see docs/checkpoints.md for the exact byte layout), and is verified when present.</para>
/// <para>Reading validates everything before allocating tensor memory (header length, UTF-8, JSON, dtypes, shapes,
/// offsets that must tile the data section exactly) and reports each problem as a <see cref="CheckpointException"/>.
/// One tensor's data is limited to <see cref="Array.MaxLength"/> bytes (about 2 GiB).</para>
/// </remarks>
public static class SafeTensors
{
    /// <summary>Metadata key of the SHA-256 checksum (64 lower-case hex digits) written by DualFramework.</summary>
    public const string ChecksumKey = "dualframework.sha256";

    /// <summary>Metadata key of the DualFramework file-format version.</summary>
    public const string FormatVersionKey = "dualframework.format_version";

    /// <summary>The format version this code writes and the highest it reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>The reserved JSON key holding the string metadata.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>Largest header accepted (100 MB, as the reference implementation), so a corrupt length cannot cause a huge allocation.</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>Largest tensor rank accepted.</summary>
    public const int MaxRank = 64;

    private const int ChecksumHexLength = 64;
    private static readonly string ChecksumPlaceholder = new('0', ChecksumHexLength);

    private static readonly (string Code, DType DType)[] DTypeCodes =
    [
        ("F32", DType.Float32), ("F64", DType.Float64), ("F16", DType.Float16), ("BF16", DType.BFloat16),
        ("I64", DType.Int64), ("I32", DType.Int32), ("I8", DType.Int8), ("U8", DType.UInt8), ("BOOL", DType.Bool),
    ];

    // Valid safetensors dtypes that DualFramework has no DType for (reported as "unsupported" rather than "unknown").
    private static readonly string[] UnsupportedCodes = ["I16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"];

    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The safetensors dtype code ("F32", "BF16", "BOOL", …) of <paramref name="dtype"/>.</summary>
    public static string DTypeCode(DType dtype)
    {
        foreach (var (c, d) in DTypeCodes)
            if (d == dtype) return c;
        throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "No safetensors code for this dtype.");
    }

    // ───────────────────────────── writing ─────────────────────────────

    /// <summary>
    /// Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="path"/> atomically: the data go
    /// to a temporary file in the same directory, which is flushed to disk and then renamed over <paramref name="path"/>.
    /// On any failure the temporary file is deleted and an existing file at <paramref name="path"/> is left untouched.
    /// </summary>
    /// <param name="path">Target file.</param>
    /// <param name="tensors">Tensors by name (any backend, any supported dtype; names non-empty, not <c>__metadata__</c>).</param>
    /// <param name="metadata">String metadata; keys starting with <c>dualframework.</c> that this class writes itself
    /// (<see cref="ChecksumKey"/>, <see cref="FormatVersionKey"/>) are reserved.</param>
    /// <exception cref="ArgumentException">A name, tensor or metadata key is invalid (nothing is written).</exception>
    /// <exception cref="CheckpointException">Writing failed (I/O error, a tensor could not be read…).</exception>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var plan = Plan(tensors, metadata);
        string full = System.IO.Path.GetFullPath(path);
        string dir = System.IO.Path.GetDirectoryName(full) ?? ".";
        string tmp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        bool created = false;
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16))
            {
                created = true;
                WritePlanned(fs, plan, CheckpointFaults.NextWriteStalls() ? () => CheckpointFaults.Stall(fs, tmp) : null);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
            created = false;
        }
        catch (Exception e) when (e is not CheckpointException)
        {
            throw new CheckpointException(full, $"Cannot write checkpoint '{full}': {e.Message}", e);
        }
        finally
        {
            if (created) TryDelete(tmp);
        }
    }

    /// <summary>
    /// Writes a safetensors image to <paramref name="stream"/> (which must be writable and seekable: the checksum is
    /// patched into the header after the data). Not atomic; use <see cref="Save"/> for files.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid arguments or an unsuitable stream.</exception>
    public static void Write(Stream stream, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite || !stream.CanSeek) throw new ArgumentException("The stream must be writable and seekable.", nameof(stream));
        WritePlanned(stream, Plan(tensors, metadata));
    }

    /// <summary>The safetensors image of <paramref name="tensors"/> and <paramref name="metadata"/> as bytes.</summary>
    public static byte[] Serialize(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var ms = new MemoryStream();
        Write(ms, tensors, metadata);
        return ms.ToArray();
    }

    private sealed record PlannedFile(SafeTensorsEntry[] Entries, Tensor[] Tensors, SortedDictionary<string, string> Metadata);

    // Validates arguments and lays tensors out by sorted name, before any file is touched.
    private static PlannedFile Plan(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var md = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (metadata != null)
            foreach (var (k, v) in metadata)
            {
                if (k is ChecksumKey or FormatVersionKey)
                    throw new ArgumentException($"Metadata key '{k}' is reserved (written by SafeTensors itself).", nameof(metadata));
                if (v == null) throw new ArgumentException($"Metadata value of '{k}' is null.", nameof(metadata));
                md[k] = v;
            }
        md[FormatVersionKey] = FormatVersion.ToString(CultureInfo.InvariantCulture);
        md[ChecksumKey] = ChecksumPlaceholder;

        var names = tensors.Keys.Order(StringComparer.Ordinal).ToArray();
        var entries = new SafeTensorsEntry[names.Length];
        var ts = new Tensor[names.Length];
        long offset = 0;
        for (int i = 0; i < names.Length; i++)
        {
            string n = names[i];
            if (n.Length == 0 || n == MetadataKey)
                throw new ArgumentException($"Invalid tensor name '{n}' (empty or the reserved '{MetadataKey}').", nameof(tensors));
            var t = tensors[n] ?? throw new ArgumentException($"Tensor '{n}' is null.", nameof(tensors));
            if (t.IsDisposed) throw new ArgumentException($"Tensor '{n}' ({t.Spec}) is disposed.", nameof(tensors));
            long bytes = t.NumElements * t.DType.ElementSize();
            if (bytes > Array.MaxLength)
                throw new ArgumentException($"Tensor '{n}' ({t.Spec}) has {bytes} bytes; at most {Array.MaxLength} per tensor are supported.", nameof(tensors));
            entries[i] = new SafeTensorsEntry(n, t.Spec, offset, offset + bytes);
            ts[i] = t;
            offset += bytes;
        }
        return new PlannedFile(entries, ts, md);
    }

    // midway: called once after the first half of the tensors is written (the fault-injection hook of CheckpointFaults).
    private static void WritePlanned(Stream s, PlannedFile plan, Action? midway = null)
    {
        long start = s.Position;
        var header = HeaderBytes(plan.Entries, plan.Metadata);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        s.Write(len);
        s.Write(header);

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        HashDescription(hash, plan.Entries, plan.Metadata);
        byte[] buffer = [];
        try
        {
            for (int i = 0; i < plan.Entries.Length; i++)
            {
                if (i == plan.Entries.Length / 2) midway?.Invoke();
                int n = checked((int)plan.Entries[i].ByteLength);
                if (buffer.Length < n)
                {
                    if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent(n);
                }
                var t = plan.Tensors[i];
                var span = buffer.AsSpan(0, n);
                t.CopyBytesTo(span);
                hash.AppendData(span);
                s.Write(span);
            }
        }
        finally
        {
            if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
        }
        long end = s.Position;

        // The checksum has a fixed width, so the final header has exactly the placeholder's length.
        plan.Metadata[ChecksumKey] = Convert.ToHexStringLower(hash.GetHashAndReset());
        var final = HeaderBytes(plan.Entries, plan.Metadata);
        if (final.Length != header.Length) throw new InvalidOperationException("Header length changed while patching the checksum.");
        s.Position = start + 8;
        s.Write(final);
        s.Position = end;
        s.Flush();
    }

    private static byte[] HeaderBytes(SafeTensorsEntry[] entries, SortedDictionary<string, string> metadata)
    {
        var buf = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buf, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteStartObject(MetadataKey);
            foreach (var (k, v) in metadata) w.WriteString(k, v);
            w.WriteEndObject();
            foreach (var e in entries)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", DTypeCode(e.Spec.DType));
                w.WriteStartArray("shape");
                foreach (var d in e.Spec.Shape.Dims) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(e.Begin);
                w.WriteNumberValue(e.End);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        // Pad with spaces so the data section starts at a multiple of 8 (8-byte length prefix + header).
        int padded = (buf.WrittenCount + 7) / 8 * 8;
        var result = new byte[padded];
        buf.WrittenSpan.CopyTo(result);
        result.AsSpan(buf.WrittenCount).Fill((byte)' ');
        return result;
    }

    // The checksum covers a canonical description of the header (so a corrupted name, shape or metadata value is caught,
    // not only corrupted data) followed by the data section. Layout documented in docs/checkpoints.md.
    private static void HashDescription(IncrementalHash h, IReadOnlyList<SafeTensorsEntry> entriesByName, IEnumerable<KeyValuePair<string, string>> metadata)
    {
        h.AppendData("dualframework.safetensors.v1\0"u8);
        var md = metadata.Where(kv => kv.Key != ChecksumKey).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        AppendU64(h, (ulong)md.Length);
        foreach (var (k, v) in md)
        {
            AppendString(h, k);
            AppendString(h, v);
        }
        AppendU64(h, (ulong)entriesByName.Count);
        foreach (var e in entriesByName)
        {
            AppendString(h, e.Name);
            AppendString(h, DTypeCode(e.Spec.DType));
            AppendU64(h, (ulong)e.Spec.Shape.Rank);
            foreach (var d in e.Spec.Shape.Dims) AppendU64(h, (ulong)d);
            AppendU64(h, (ulong)e.Begin);
            AppendU64(h, (ulong)e.End);
        }
    }

    private static void AppendU64(IncrementalHash h, ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        h.AppendData(b);
    }

    private static void AppendString(IncrementalHash h, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        AppendU64(h, (ulong)bytes.Length);
        h.AppendData(bytes);
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    // ───────────────────────────── reading ─────────────────────────────

    /// <summary>
    /// Reads every tensor and the metadata of a safetensors file. Tensors are created on <paramref name="backend"/> (default:
    /// <see cref="BackendRegistry.Default"/>) and, like any new tensor, belong to the current <see cref="TensorScope"/>.
    /// The checksum is verified when the file has one; files from other tools (no checksum) load as well.
    /// </summary>
    /// <returns>Tensors by name, and the metadata (including DualFramework's own keys; empty when the file has none).</returns>
    /// <exception cref="CheckpointException">The file is missing, unreadable, malformed, truncated or corrupted.</exception>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path, IComputeBackend? backend = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var fs = Open(path);
        return ReadCore(fs, backend, path);
    }

    /// <summary>Reads and validates only the header of a safetensors file (no tensor data is loaded or verified).</summary>
    /// <exception cref="CheckpointException">The file is missing, unreadable, malformed or truncated.</exception>
    public static SafeTensorsHeader ReadHeader(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var fs = Open(path);
        return ReadHeaderCore(fs, path);
    }

    /// <summary>Reads a safetensors image from the current position of a readable, seekable stream to its end.</summary>
    /// <param name="stream">The stream.</param>
    /// <param name="backend">Backend for the tensors (default: <see cref="BackendRegistry.Default"/>).</param>
    /// <param name="name">How error messages name the source.</param>
    /// <exception cref="CheckpointException">The image is malformed, truncated or corrupted.</exception>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Read(Stream stream, IComputeBackend? backend = null, string name = "<stream>")
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead || !stream.CanSeek) throw new ArgumentException("The stream must be readable and seekable.", nameof(stream));
        return ReadCore(stream, backend, name);
    }

    /// <summary>Reads a safetensors image held in memory.</summary>
    /// <exception cref="CheckpointException">The image is malformed, truncated or corrupted.</exception>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Deserialize(byte[] data, IComputeBackend? backend = null, string name = "<bytes>")
    {
        ArgumentNullException.ThrowIfNull(data);
        using var ms = new MemoryStream(data, writable: false);
        return ReadCore(ms, backend, name);
    }

    /// <summary>Parses and validates the header of a safetensors image held in memory.</summary>
    /// <exception cref="CheckpointException">The header is malformed or inconsistent with the image's length.</exception>
    public static SafeTensorsHeader ParseHeader(byte[] data, string name = "<bytes>")
    {
        ArgumentNullException.ThrowIfNull(data);
        using var ms = new MemoryStream(data, writable: false);
        return ReadHeaderCore(ms, name);
    }

    private static FileStream Open(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new CheckpointException(path, $"Cannot open checkpoint '{path}': {e.Message}", e);
        }
    }

    private static CheckpointException Bad(string source, string problem, Exception? inner = null) =>
        new(source, $"Invalid safetensors file '{source}': {problem}", inner);

    private static SafeTensorsHeader ReadHeaderCore(Stream s, string source)
    {
        try
        {
            return ReadHeaderUnchecked(s, source);
        }
        catch (IOException e)
        {
            throw new CheckpointException(source, $"Cannot read checkpoint '{source}': {e.Message}", e);
        }
    }

    private static SafeTensorsHeader ReadHeaderUnchecked(Stream s, string source)
    {
        long total = s.Length - s.Position;
        if (total < 8) throw Bad(source, $"the file is {total} bytes long, shorter than the 8-byte header length prefix.");
        Span<byte> len = stackalloc byte[8];
        ReadExactly(s, len, source);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(len);
        if (n > MaxHeaderLength)
            throw Bad(source, $"header length {n} exceeds the limit of {MaxHeaderLength} bytes (corrupt length prefix?).");
        if ((long)n > total - 8)
            throw Bad(source, $"header length {n} extends past the end of the file ({total} bytes): the file is truncated or corrupt.");
        if (n < 2) throw Bad(source, $"header length {n} is too small for a JSON object.");
        var header = new byte[n];
        ReadExactly(s, header, source);
        long dataLength = total - 8 - (long)n;
        return ParseHeaderJson(header, dataLength, source);
    }

    private static SafeTensorsHeader ParseHeaderJson(byte[] header, long dataLength, string source)
    {
        if (!Utf8.IsValid(header)) throw Bad(source, "the header is not valid UTF-8.");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Bad(source, $"the header is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad(source, $"the header must be a JSON object, got {root.ValueKind}.");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<SafeTensorsEntry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in root.EnumerateObject())
            {
                if (!seen.Add(prop.Name)) throw Bad(source, $"duplicate key '{prop.Name}' in the header.");
                if (prop.Name == MetadataKey) ParseMetadata(prop.Value, metadata, source);
                else entries.Add(ParseEntry(prop.Name, prop.Value, source));
            }
            CheckLayout(entries, dataLength, source);
            CheckVersion(metadata, source);
            // Every file that declares our format carries a checksum, so a damaged checksum KEY cannot silently disable
            // verification.
            if (metadata.ContainsKey(FormatVersionKey) && !metadata.ContainsKey(ChecksumKey))
                throw Bad(source, $"metadata declares '{FormatVersionKey}' but has no '{ChecksumKey}': the header is corrupt.");
            if (metadata.TryGetValue(ChecksumKey, out var sum) && !IsLowerHex(sum, ChecksumHexLength))
                throw Bad(source, $"metadata '{ChecksumKey}' must be {ChecksumHexLength} lower-case hex digits, got '{Truncate(sum)}'.");
            entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            return new SafeTensorsHeader(entries, metadata, header.Length, dataLength);
        }
    }

    private static void ParseMetadata(JsonElement value, Dictionary<string, string> metadata, string source)
    {
        if (value.ValueKind != JsonValueKind.Object) throw Bad(source, $"'{MetadataKey}' must be an object of strings, got {value.ValueKind}.");
        foreach (var p in value.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw Bad(source, $"metadata '{p.Name}' must be a string, got {p.Value.ValueKind}.");
            if (!metadata.TryAdd(p.Name, p.Value.GetString()!)) throw Bad(source, $"duplicate metadata key '{p.Name}'.");
        }
    }

    private static SafeTensorsEntry ParseEntry(string name, JsonElement value, string source)
    {
        string where = $"tensor '{Truncate(name)}'";
        if (name.Length == 0) throw Bad(source, "a tensor has an empty name.");
        if (value.ValueKind != JsonValueKind.Object) throw Bad(source, $"{where}: entry must be an object, got {value.ValueKind}.");
        if (!value.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw Bad(source, $"{where}: missing or non-string 'dtype'.");
        if (!value.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw Bad(source, $"{where}: missing or non-array 'shape'.");
        if (!value.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array)
            throw Bad(source, $"{where}: missing or non-array 'data_offsets'.");

        string code = dt.GetString()!;
        DType? dtype = null;
        foreach (var (c, d) in DTypeCodes)
            if (c == code) dtype = d;
        if (dtype == null)
            throw Bad(source, UnsupportedCodes.Contains(code)
                ? $"{where}: dtype '{code}' is not supported by DualFramework."
                : $"{where}: unknown dtype '{Truncate(code)}'.");

        int rank = sh.GetArrayLength();
        if (rank > MaxRank) throw Bad(source, $"{where}: rank {rank} exceeds the limit of {MaxRank}.");
        var dims = new long[rank];
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v))
                throw Bad(source, $"{where}: shape dimension {i} ({Truncate(d.GetRawText())}) is not an integer.");
            if (v < 0) throw Bad(source, $"{where}: negative dimension {v} in shape [{string.Join(", ", sh.EnumerateArray().Select(x => x.GetRawText()))}].");
            dims[i++] = v;
        }
        // numel = product of dims; the product of the non-zero dims must not overflow either (absurd shapes are corrupt).
        long numel = 1;
        bool zero = false;
        try
        {
            foreach (var d in dims)
                if (d == 0) zero = true;
                else numel = checked(numel * d);
            if (zero) numel = 0;
            checked { _ = numel * dtype.Value.ElementSize(); }
        }
        catch (OverflowException)
        {
            throw Bad(source, $"{where}: the number of elements of shape [{string.Join(", ", dims)}] overflows.");
        }
        long bytes = numel * dtype.Value.ElementSize();

        if (off.GetArrayLength() != 2) throw Bad(source, $"{where}: 'data_offsets' must have exactly 2 entries.");
        var o = new long[2];
        i = 0;
        foreach (var x in off.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt64(out o[i]) || o[i] < 0)
                throw Bad(source, $"{where}: data offset {Truncate(x.GetRawText())} is not a non-negative 64-bit integer.");
            i++;
        }
        if (o[1] < o[0]) throw Bad(source, $"{where}: data_offsets [{o[0]}, {o[1]}] end before they begin.");
        var spec = new TensorSpec(Shape.Own(dims), dtype.Value);
        if (o[1] - o[0] != bytes)
            throw Bad(source, $"{where}: data_offsets [{o[0]}, {o[1]}] span {o[1] - o[0]} bytes but {spec} needs {bytes} bytes.");
        if (bytes > Array.MaxLength)
            throw Bad(source, $"{where}: {spec} has {bytes} bytes; tensors over {Array.MaxLength} bytes are not supported.");
        return new SafeTensorsEntry(name, spec, o[0], o[1]);
    }

    // Offsets must tile [0, dataLength) exactly: no gaps, no overlaps, nothing past the end (as the reference reader).
    private static void CheckLayout(List<SafeTensorsEntry> entries, long dataLength, string source)
    {
        var byOffset = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToArray();
        long expected = 0;
        string? previous = null;
        foreach (var e in byOffset)
        {
            if (e.Begin < expected)
                throw Bad(source, $"tensor '{Truncate(e.Name)}' [{e.Begin}, {e.End}) overlaps tensor '{Truncate(previous!)}' (which ends at {expected}).");
            if (e.Begin > expected)
                throw Bad(source, $"gap in the data section: bytes [{expected}, {e.Begin}) before tensor '{Truncate(e.Name)}' belong to no tensor.");
            if (e.End > dataLength)
                throw Bad(source, $"tensor '{Truncate(e.Name)}' [{e.Begin}, {e.End}) extends past the data section ({dataLength} bytes): the file is truncated or corrupt.");
            expected = e.End;
            previous = e.Name;
        }
        if (expected != dataLength)
            throw Bad(source, $"the data section has {dataLength} bytes but the tensors cover only {expected}: {dataLength - expected} trailing bytes belong to no tensor.");
    }

    private static void CheckVersion(Dictionary<string, string> metadata, string source)
    {
        if (!metadata.TryGetValue(FormatVersionKey, out var v)) return;
        if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int version) || version < 1 || v != version.ToString(CultureInfo.InvariantCulture))
            throw Bad(source, $"metadata '{FormatVersionKey}' is '{Truncate(v)}', not a format version.");
        if (version > FormatVersion)
            throw Bad(source, $"format version {version} is newer than this reader supports ({FormatVersion}).");
    }

    private static (Dictionary<string, Tensor>, Dictionary<string, string>) ReadCore(Stream s, IComputeBackend? backend, string source)
    {
        var header = ReadHeaderCore(s, source);
        long dataStart = s.Position;
        string? expectedSum = header.Metadata.GetValueOrDefault(ChecksumKey);
        using var hash = expectedSum != null ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        if (hash != null) HashDescription(hash, header.Entries, header.Metadata);

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var b = backend ?? BackendRegistry.Default;
        byte[] buffer = [];
        bool ok = false;
        try
        {
            // Tensors tile the data section, so reading them in offset order is one sequential pass.
            foreach (var e in header.Entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
            {
                int n = (int)e.ByteLength;
                if (buffer.Length < n)
                {
                    if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent(n);
                }
                var span = buffer.AsSpan(0, n);
                s.Position = dataStart + e.Begin;
                ReadExactly(s, span, source);
                hash?.AppendData(span);
                try
                {
                    result[e.Name] = Tensor.FromBytes(span, e.Spec, b);
                }
                catch (Exception ex) when (ex is not CheckpointException)
                {
                    throw new CheckpointException(source, $"Cannot load tensor '{e.Name}' ({e.Spec}) from '{source}' onto backend '{b.Name}': {ex.Message}", ex);
                }
            }
            // The hash must see the data in offset order, but the description in name order; both are fixed by the header.
            if (hash != null)
            {
                string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
                if (actual != expectedSum)
                    throw Bad(source, $"checksum mismatch: the header records {ChecksumKey} {expectedSum} but the contents hash to {actual}; the file is corrupted.");
            }
            ok = true;
        }
        catch (IOException e)
        {
            throw new CheckpointException(source, $"Cannot read checkpoint '{source}': {e.Message}", e);
        }
        finally
        {
            if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
            if (!ok)
                foreach (var t in result.Values) t.Dispose();
        }
        var sorted = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var e in header.Entries) sorted[e.Name] = result[e.Name];
        return (sorted, new Dictionary<string, string>(header.Metadata, StringComparer.Ordinal));
    }

    private static void ReadExactly(Stream s, Span<byte> destination, string source)
    {
        try
        {
            s.ReadExactly(destination);
        }
        catch (EndOfStreamException e)
        {
            throw Bad(source, "unexpected end of file (truncated, or changed while reading).", e);
        }
    }

    private static bool IsLowerHex(string s, int length)
    {
        if (s.Length != length) return false;
        foreach (char c in s)
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f')) return false;
        return true;
    }

    private static string Truncate(string s) => s.Length <= 80 ? s : s[..77] + "...";
}
