using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DualFramework.Backends;
using DualFramework.Checkpoints;
using DualFramework.Operators;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Checkpoints;

/// <summary>A host-memory backend for failure injection: handles are byte arrays; ToBytes can be made to throw.</summary>
internal sealed class ByteBackend : IComputeBackend
{
    public bool FailToBytes { get; set; }
    public string Name => "bytes-test";
    public Device Device => Device.Cpu;
    public bool Supports(Op op) => false;
    public object Execute(Op op, OpAttrs attrs, ReadOnlySpan<Tensor> inputs, TensorSpec[] outputs) => throw new NotSupportedException();
    public object FromBytes(ReadOnlySpan<byte> data, TensorSpec spec) => data.ToArray();
    public void ToBytes(object handle, TensorSpec spec, Span<byte> destination)
    {
        if (FailToBytes) throw new IOException("simulated device failure while reading tensor");
        ((byte[])handle).CopyTo(destination);
    }
    public INativeAutograd? NativeAutograd => null;
}

[TestFixture]
public class SafeTensorsTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "df-st-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static byte[] Bytes(Tensor t) => t.ToBytes();

    private static byte[] RandomBytes(int n, int seed, bool boolean = false)
    {
        var r = new Random(seed);
        var b = new byte[n];
        r.NextBytes(b);
        if (boolean) for (int i = 0; i < n; i++) b[i] &= 1;
        return b;
    }

    private static Dictionary<string, Tensor> EveryDType()
    {
        var d = new Dictionary<string, Tensor>();
        int seed = 1;
        foreach (DType dt in Enum.GetValues<DType>())
        {
            var spec = new TensorSpec(new Shape(2, 3), dt);
            d[dt.Name()] = Tensor.FromBytes(RandomBytes(6 * dt.ElementSize(), seed++, dt == DType.Bool), spec);
        }
        // Special float values: NaN, ±0, ±inf, subnormal, largest finite.
        d["specials_f32"] = Tensor.FromArray([float.NaN, -0f, 0f, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, float.MaxValue], new Shape(7));
        d["specials_f16"] = Tensor.FromArray([Half.NaN, Half.NegativeZero, Half.Epsilon, Half.MaxValue, Half.NegativeInfinity], new Shape(5));
        d["specials_bf16"] = Tensor.FromArray(new ushort[] { 0x7FC1, 0x8000, 0x0001, 0x7F7F, 0xFF80 }, new Shape(5));
        d["scalar"] = Tensor.Scalar(3.25);
        d["scalar_bool"] = Tensor.Scalar(true);
        d["empty"] = Tensor.FromBytes([], new TensorSpec(new Shape(0, 3), DType.Float32));
        d["empty_i64"] = Tensor.FromBytes([], new TensorSpec(new Shape(2, 0, 4), DType.Int64));
        return d;
    }

    [Test]
    public void Every_dtype_round_trips_bit_exactly_through_a_file()
    {
        using var s = TensorScope.Begin();
        var tensors = EveryDType();
        var path = Path.Combine(_dir, "all.safetensors");
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["note"] = "héllo ✓", ["empty"] = "" });
        var (loaded, md) = SafeTensors.Load(path);
        loaded.Keys.Should().BeEquivalentTo(tensors.Keys);
        foreach (var (n, t) in tensors)
        {
            loaded[n].Spec.Should().Be(t.Spec, n);
            Bytes(loaded[n]).Should().Equal(Bytes(t), n);
        }
        md["note"].Should().Be("héllo ✓");
        md["empty"].Should().Be("");
        md[SafeTensors.FormatVersionKey].Should().Be("1");
        md[SafeTensors.ChecksumKey].Should().MatchRegex("^[0-9a-f]{64}$");
        loaded.Keys.Should().BeInAscendingOrder(StringComparer.Ordinal);
    }

    [Test]
    public void Bytes_and_stream_apis_round_trip_and_match_the_file()
    {
        using var s = TensorScope.Begin();
        var tensors = EveryDType();
        var bytes = SafeTensors.Serialize(tensors);
        var path = Path.Combine(_dir, "x.safetensors");
        SafeTensors.Save(path, tensors);
        File.ReadAllBytes(path).Should().Equal(bytes, "file and in-memory images are identical");

        var (fromBytes, _) = SafeTensors.Deserialize(bytes);
        using var ms = new MemoryStream();
        ms.Write([1, 2, 3]); // the stream API reads from the current position
        SafeTensors.Write(ms, tensors);
        ms.Position = 3;
        var (fromStream, _) = SafeTensors.Read(ms);
        foreach (var (n, t) in tensors)
        {
            Bytes(fromBytes[n]).Should().Equal(Bytes(t));
            Bytes(fromStream[n]).Should().Equal(Bytes(t));
        }
    }

    [Test]
    public void Output_is_deterministic_regardless_of_insertion_order()
    {
        using var s = TensorScope.Begin();
        var a = Tensor.FromArray(1f, 2f);
        var b = Tensor.FromArray(3L);
        var one = SafeTensors.Serialize(new Dictionary<string, Tensor> { ["b"] = b, ["a"] = a }, new Dictionary<string, string> { ["y"] = "1", ["x"] = "2" });
        var two = SafeTensors.Serialize(new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b }, new Dictionary<string, string> { ["x"] = "2", ["y"] = "1" });
        one.Should().Equal(two);
    }

    // Independent implementation of the documented checksum (docs/checkpoints.md).
    private static byte[] U64(ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        return b;
    }

    private static byte[] Str(string s) => [.. U64((ulong)Encoding.UTF8.GetByteCount(s)), .. Encoding.UTF8.GetBytes(s)];

    [Test]
    public void File_layout_matches_a_hand_built_byte_sequence()
    {
        using var s = TensorScope.Begin();
        var t = Tensor.FromArray(1f, -2f);
        var actual = SafeTensors.Serialize(new Dictionary<string, Tensor> { ["a"] = t }, new Dictionary<string, string> { ["k"] = "v" });

        byte[] data = [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0]; // 1.0f, -2.0f little-endian
        byte[] described =
        [
            .. "dualframework.safetensors.v1\0"u8.ToArray(),
            .. U64(2), .. Str("dualframework.format_version"), .. Str("1"), .. Str("k"), .. Str("v"),
            .. U64(1), .. Str("a"), .. Str("F32"), .. U64(1), .. U64(2), .. U64(0), .. U64(8),
            .. data,
        ];
        string sum = Convert.ToHexStringLower(SHA256.HashData(described));
        string json = "{\"__metadata__\":{\"dualframework.format_version\":\"1\",\"dualframework.sha256\":\"" + sum +
                      "\",\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        int padded = (json.Length + 7) / 8 * 8;
        json = json.PadRight(padded, ' ');
        byte[] expected = [.. U64((ulong)json.Length), .. Encoding.ASCII.GetBytes(json), .. data];
        actual.Should().Equal(expected);
    }

    [Test]
    public void File_follows_the_format_rules_when_parsed_independently()
    {
        using var s = TensorScope.Begin();
        var tensors = EveryDType();
        var file = SafeTensors.Serialize(tensors, new Dictionary<string, string> { ["k"] = "v" });

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        ((8 + (long)n) % 8).Should().Be(0, "the data section is 8-byte aligned");
        var header = file.AsSpan(8, (int)n).ToArray();
        var text = Encoding.UTF8.GetString(header);
        text.TrimEnd(' ').Should().EndWith("}");
        text.TrimEnd(' ').Length.Should().BeGreaterThan((int)n - 8, "padding is less than 8 spaces");
        using var doc = JsonDocument.Parse(header);
        var data = file.AsSpan(8 + (int)n).ToArray();
        var codes = new Dictionary<string, (string Code, int Size)>
        {
            ["float32"] = ("F32", 4),
            ["float64"] = ("F64", 8),
            ["float16"] = ("F16", 2),
            ["bfloat16"] = ("BF16", 2),
            ["int64"] = ("I64", 8),
            ["int32"] = ("I32", 4),
            ["int8"] = ("I8", 1),
            ["uint8"] = ("U8", 1),
            ["bool"] = ("BOOL", 1),
        };
        var names = new List<string>();
        long covered = 0;
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                p.Value.GetProperty("k").GetString().Should().Be("v");
                continue;
            }
            names.Add(p.Name);
            var t = tensors[p.Name];
            var (code, size) = codes[t.DType.Name()];
            p.Value.GetProperty("dtype").GetString().Should().Be(code);
            p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).Should().Equal(t.Shape.ToArray());
            var off = p.Value.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            off.Should().HaveCount(2);
            off[0].Should().Be(covered, "tensors are tightly packed in name order");
            (off[1] - off[0]).Should().Be(t.NumElements * size);
            data.AsSpan((int)off[0], (int)(off[1] - off[0])).ToArray().Should().Equal(Bytes(t), p.Name);
            covered = off[1];
        }
        covered.Should().Be(data.Length, "the tensors cover the whole data section");
        names.Should().BeInAscendingOrder(StringComparer.Ordinal);
        names.Should().BeEquivalentTo(tensors.Keys);
    }

    private static byte[] Image(string json, byte[] data, bool pad = false)
    {
        if (pad) json = json.PadRight((json.Length + 7) / 8 * 8);
        var h = Encoding.UTF8.GetBytes(json);
        return [.. U64((ulong)h.Length), .. h, .. data];
    }

    [Test]
    public void Loads_a_foreign_file_without_checksum_in_any_key_order()
    {
        using var s = TensorScope.Begin();
        // As another writer might produce it: unsorted, no metadata, no padding, offsets not in name order.
        var file = Image("{\"w\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[2,10]},\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}",
            [7, 9, 0x2A, 0, 0, 0, 0, 0, 0, 0x80]);
        var (t, md) = SafeTensors.Deserialize(file);
        md.Should().BeEmpty();
        t["b"].ToArray<byte>().Should().Equal(7, 9);
        t["w"].Spec.Should().Be(new TensorSpec(Shape.Scalar, DType.Int64));
        t["w"].ToArray<long>().Should().Equal(unchecked((long)0x800000000000002AUL));
        var h = SafeTensors.ParseHeader(file);
        h.HasChecksum.Should().BeFalse();
        h.Entries.Select(e => e.Name).Should().Equal("b", "w");
        h.DataLength.Should().Be(10);
    }

    [Test]
    public void Empty_file_with_no_tensors_round_trips()
    {
        using var s = TensorScope.Begin();
        var (t, md) = SafeTensors.Deserialize(SafeTensors.Serialize(new Dictionary<string, Tensor>()));
        t.Should().BeEmpty();
        md.Should().ContainKey(SafeTensors.ChecksumKey);
    }

    private static void ShouldFail(byte[] file, params string[] patterns)
    {
        using var s = TensorScope.Begin();
        var act = () => SafeTensors.Deserialize(file, null, "bad.safetensors");
        var e = act.Should().Throw<CheckpointException>().Which;
        e.FilePath.Should().Be("bad.safetensors");
        e.Message.Should().Contain("bad.safetensors");
        foreach (var p in patterns) e.Message.Should().MatchEquivalentOf($"*{p}*");
    }

    private const string Ok1 = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";

    [Test]
    public void Rejects_files_shorter_than_the_length_prefix()
    {
        ShouldFail([], "0 bytes", "shorter than the 8-byte");
        ShouldFail([1, 0, 0, 0, 0], "5 bytes");
    }

    [Test]
    public void Rejects_header_length_past_the_end_or_absurd()
    {
        var good = Image(Ok1, new byte[4]);
        var past = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(past, (ulong)(good.Length));
        ShouldFail(past, "extends past the end");
        var huge = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(huge, ulong.MaxValue);
        ShouldFail(huge, "exceeds the limit");
        BinaryPrimitives.WriteUInt64LittleEndian(huge, 200_000_000);
        ShouldFail(huge, "exceeds the limit");
        ShouldFail([0, 0, 0, 0, 0, 0, 0, 0], "too small");
    }

    [Test]
    public void Rejects_invalid_utf8_and_json()
    {
        var bad = Image("{\"a\xff\":{}}", []);
        bad[8 + 3] = 0xFF; // a lone continuation-less byte inside the key
        ShouldFail(bad, "UTF-8");
        ShouldFail(Image("{not json}", []), "not valid JSON");
        ShouldFail(Image("[1,2]", []), "must be a JSON object");
        ShouldFail(Image(Ok1 + "}", new byte[4]), "not valid JSON");
        ShouldFail(Image(new string('[', 100) + new string(']', 100), []), "not valid JSON");
        ShouldFail(Image("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", []), "duplicate key 'a'");
        ShouldFail(Image("{\"__metadata__\":{\"x\":1}}", []), "metadata 'x' must be a string");
        ShouldFail(Image("{\"__metadata__\":[]}", []), "must be an object of strings");
    }

    [Test]
    public void Rejects_bad_entries()
    {
        ShouldFail(Image("{\"a\":{\"dtype\":\"F99\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "unknown dtype 'F99'");
        ShouldFail(Image("{\"a\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[0,2]}}", new byte[2]), "'I16' is not supported");
        ShouldFail(Image("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]), "negative dimension -1");
        ShouldFail(Image("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", new byte[4]), "not an integer");
        ShouldFail(Image("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", new byte[4]), "span 4 bytes but float32[2] needs 8");
        ShouldFail(Image("{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,4]}}", new byte[4]), "overflows");
        ShouldFail(Image("{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}", new byte[4]), "overflows");
        ShouldFail(Image("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", new byte[4]), "exactly 2");
        ShouldFail(Image("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", new byte[4]), "not a non-negative");
        ShouldFail(Image("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", new byte[4]), "end before they begin");
        ShouldFail(Image("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "'dtype'");
        ShouldFail(Image("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", new byte[4]), "'shape'");
        ShouldFail(Image("{\"a\":3}", []), "must be an object");
        ShouldFail(Image("{\"a\":{\"dtype\":\"F32\",\"shape\":[" + string.Join(",", Enumerable.Repeat("1", 65)) + "],\"data_offsets\":[0,4]}}", new byte[4]), "rank 65");
    }

    [Test]
    public void Rejects_offsets_out_of_bounds_overlapping_or_not_covering()
    {
        ShouldFail(Image("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[4]), "extends past the data section", "truncated");
        ShouldFail(Image("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]), "overlaps");
        ShouldFail(Image("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]), "gap", "[0, 4)");
        ShouldFail(Image(Ok1, new byte[6]), "2 trailing bytes");
    }

    [Test]
    public void Rejects_bad_or_missing_checksum_and_newer_versions()
    {
        using var s = TensorScope.Begin();
        var good = SafeTensors.Serialize(new Dictionary<string, Tensor> { ["a"] = Tensor.FromArray(1f) });
        var header = Encoding.UTF8.GetString(good, 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(good));
        var sum = JsonDocument.Parse(header.TrimEnd()).RootElement.GetProperty("__metadata__").GetProperty(SafeTensors.ChecksumKey).GetString()!;
        byte[] data = [0, 0, 0x80, 0x3F];
        ShouldFail(Image(header.TrimEnd().Replace(sum, sum.ToUpperInvariant()), data), "lower-case hex");
        ShouldFail(Image(header.TrimEnd().Replace("\"dualframework.sha256\"", "\"dualframework.sha257\""), data), "has no 'dualframework.sha256'");
        ShouldFail(Image(header.TrimEnd().Replace("format_version\":\"1\"", "format_version\":\"2\""), data), "newer");
        ShouldFail(Image(header.TrimEnd().Replace("format_version\":\"1\"", "format_version\":\"one\""), data), "not a format version");
        SafeTensors.Deserialize(Image(header.TrimEnd(), data))
            .Tensors["a"].ToArray<float>().Should().Equal(1f);
    }

    private byte[] SmallFile()
    {
        // Data bytes avoid JSON whitespace so that a shifted header boundary can never parse.
        var t = new Dictionary<string, Tensor>
        {
            ["w"] = Tensor.FromArray([1.5f, -2.5f, 3.5f, 4.25f], new Shape(2, 2)),
            ["n"] = Tensor.Scalar(7L + (0x41L << 8)),
            ["m"] = Tensor.FromArray(true, false),
        };
        return SafeTensors.Serialize(t, new Dictionary<string, string> { ["note"] = "x" });
    }

    [Test]
    public void Truncation_at_any_point_is_reported()
    {
        using var s = TensorScope.Begin();
        var file = SmallFile();
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(file);
        var cuts = new long[] { 0, 3, 7, 8, 9, 8 + n / 2, 8 + n - 1, 8 + n, 8 + n + 1, file.Length - 5, file.Length - 1 };
        foreach (var cut in cuts.Distinct())
        {
            var act = () => SafeTensors.Deserialize(file[..(int)cut], null, "cut.safetensors");
            act.Should().Throw<CheckpointException>($"cut at {cut}").Which.Message.Should().Contain("cut.safetensors");
        }
        var path = Path.Combine(_dir, "t.safetensors");
        File.WriteAllBytes(path, file[..^3]);
        var load = () => SafeTensors.Load(path);
        load.Should().Throw<CheckpointException>().WithMessage($"*{path}*truncated*");
    }

    [Test]
    public void Flipped_data_byte_fails_the_checksum()
    {
        byte[] file;
        using (TensorScope.Begin()) file = SmallFile();
        file[^1] ^= 0x01;
        var path = Path.Combine(_dir, "flip.safetensors");
        File.WriteAllBytes(path, file);
        using var s = TensorScope.Begin();
        var act = () => SafeTensors.Load(path);
        act.Should().Throw<CheckpointException>().WithMessage($"*{path}*checksum mismatch*");
        s.Count.Should().Be(0, "tensors created before the failure are disposed");
    }

    [Test]
    public void Flipped_header_byte_is_a_json_or_validation_error()
    {
        using var s = TensorScope.Begin();
        var file = SmallFile();
        var i = Encoding.ASCII.GetString(file).IndexOf("\"dtype\"", StringComparison.Ordinal);
        file[i + 1] ^= 0x80;
        ShouldFail(file, "UTF-8");
    }

    [Test]
    public void Every_single_bit_flip_anywhere_in_a_file_is_detected()
    {
        using var s = TensorScope.Begin();
        var file = SmallFile();
        for (int i = 0; i < file.Length; i++)
            for (int bit = 0; bit < 8; bit++)
            {
                var copy = (byte[])file.Clone();
                copy[i] ^= (byte)(1 << bit);
                using var inner = TensorScope.Begin();
                try
                {
                    SafeTensors.Deserialize(copy);
                    Assert.Fail($"flip of bit {bit} of byte {i} was not detected");
                }
                catch (CheckpointException) { }
            }
    }

    [Test]
    public void Missing_file_is_a_checkpoint_exception()
    {
        var path = Path.Combine(_dir, "nope.safetensors");
        var act = () => SafeTensors.Load(path);
        act.Should().Throw<CheckpointException>().WithMessage($"*{path}*").Which.InnerException.Should().BeOfType<FileNotFoundException>();
    }

    [Test]
    public void Invalid_arguments_are_rejected_before_touching_the_disk()
    {
        using var s = TensorScope.Begin();
        var path = Path.Combine(_dir, "a.safetensors");
        var t = Tensor.FromArray(1f);
        ((Action)(() => SafeTensors.Save(path, new Dictionary<string, Tensor> { [""] = t }))).Should().Throw<ArgumentException>();
        ((Action)(() => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["__metadata__"] = t }))).Should().Throw<ArgumentException>();
        ((Action)(() => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["a"] = t }, new Dictionary<string, string> { [SafeTensors.ChecksumKey] = "x" })))
            .Should().Throw<ArgumentException>().WithMessage("*reserved*");
        var gone = Tensor.FromArray(1f);
        gone.Dispose();
        ((Action)(() => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["a"] = gone }))).Should().Throw<ArgumentException>().WithMessage("*disposed*");
        Directory.GetFileSystemEntries(_dir).Should().BeEmpty();
    }

    [Test]
    public void Failed_write_leaves_the_previous_file_intact_and_no_temp_file()
    {
        using var s = TensorScope.Begin();
        var path = Path.Combine(_dir, "model.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["a"] = Tensor.FromArray(1f, 2f) });
        var before = File.ReadAllBytes(path);

        var failing = new ByteBackend();
        var bad = Tensor.FromBytes(new byte[16], new TensorSpec(new Shape(4), DType.Float32), failing);
        failing.FailToBytes = true;
        // "a" is written first, so the failure happens mid-file.
        var act = () => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["a"] = Tensor.FromArray(new float[1000], new Shape(1000)), ["z"] = bad });
        act.Should().Throw<CheckpointException>().WithMessage($"*{path}*simulated device failure*");

        File.ReadAllBytes(path).Should().Equal(before);
        Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Should().Equal("model.safetensors");

        var missingDir = Path.Combine(_dir, "no", "such", "dir", "x.safetensors");
        ((Action)(() => SafeTensors.Save(missingDir, new Dictionary<string, Tensor> { ["a"] = Tensor.FromArray(1f) })))
            .Should().Throw<CheckpointException>().WithMessage("*x.safetensors*");
    }

    [Test]
    public void Successful_overwrite_replaces_the_file_and_leaves_no_temp_file()
    {
        using var s = TensorScope.Begin();
        var path = Path.Combine(_dir, "m.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["a"] = Tensor.FromArray(1f) });
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["b"] = Tensor.FromArray(2.0) });
        SafeTensors.Load(path).Tensors.Keys.Should().Equal("b");
        Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Should().Equal("m.safetensors");
    }

    [Test]
    public void Tensors_load_onto_the_requested_backend()
    {
        using var s = TensorScope.Begin();
        var bytesBackend = new ByteBackend();
        var (t, _) = SafeTensors.Deserialize(SafeTensors.Serialize(new Dictionary<string, Tensor> { ["a"] = Tensor.FromArray(5, 6) }), bytesBackend);
        t["a"].Backend.Should().BeSameAs(bytesBackend);
        ((byte[])t["a"].Handle).Should().Equal(5, 0, 0, 0, 6, 0, 0, 0);
    }
}
