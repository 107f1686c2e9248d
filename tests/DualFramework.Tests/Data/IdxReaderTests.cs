using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using DualFramework.Data;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Data;

[TestFixture]
public class IdxReaderTests
{
    private string _dir = null!;

    [OneTimeSetUp]
    public void CreateDir() => _dir = Directory.CreateTempSubdirectory("df-idx-").FullName;

    [OneTimeTearDown]
    public void DeleteDir() => Directory.Delete(_dir, recursive: true);

    // Builds IDX bytes by hand (independently of the reader): magic, type, rank, big-endian dims, then the payload.
    internal static byte[] Idx(byte type, int[] dims, byte[] payload, int? rank = null)
    {
        var b = new List<byte> { 0, 0, type, (byte)(rank ?? dims.Length) };
        var d = new byte[4];
        foreach (var dim in dims)
        {
            BinaryPrimitives.WriteInt32BigEndian(d, dim);
            b.AddRange(d);
        }
        b.AddRange(payload);
        return b.ToArray();
    }

    internal static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(raw);
        return ms.ToArray();
    }

    private string Write(string name, byte[] bytes, bool gz = false)
    {
        var path = Path.Combine(_dir, name + (gz ? ".gz" : ""));
        File.WriteAllBytes(path, gz ? Gzip(bytes) : bytes);
        return path;
    }

    private static byte[] BigEndian<T>(T[] values, int size, Action<byte[], T> write)
    {
        var result = new byte[values.Length * size];
        var tmp = new byte[size];
        for (int i = 0; i < values.Length; i++)
        {
            write(tmp, values[i]);
            tmp.CopyTo(result, i * size);
        }
        return result;
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Every_element_type_round_trips(bool gz)
    {
        byte[] u8 = [0, 1, 255, 128, 7, 9];
        var a = IdxReader.Read(Write("u8" + gz, Idx(0x08, [2, 3], u8), gz));
        a.DataType.Should().Be(IdxDataType.UInt8);
        a.Shape.Should().Be(new Shape(2, 3));
        a.GetData<byte>().Should().Equal(u8);

        sbyte[] i8 = [-128, -1, 0, 127];
        var b = IdxReader.Read(Write("i8" + gz, Idx(0x09, [4], i8.Select(v => (byte)v).ToArray()), gz));
        b.DataType.Should().Be(IdxDataType.Int8);
        b.GetData<sbyte>().Should().Equal(i8);

        short[] i16 = [short.MinValue, -2, 0, 1, short.MaxValue, 0x1234];
        var c = IdxReader.Read(Write("i16" + gz, Idx(0x0B, [3, 2], BigEndian(i16, 2, (d, v) => BinaryPrimitives.WriteInt16BigEndian(d, v))), gz));
        c.Shape.Should().Be(new Shape(3, 2));
        c.GetData<short>().Should().Equal(i16);

        int[] i32 = [int.MinValue, -1, 0, 1, 0x12345678, int.MaxValue];
        var d = IdxReader.Read(Write("i32" + gz, Idx(0x0C, [1, 2, 3], BigEndian(i32, 4, (x, v) => BinaryPrimitives.WriteInt32BigEndian(x, v))), gz));
        d.Shape.Should().Be(new Shape(1, 2, 3));
        d.GetData<int>().Should().Equal(i32);

        float[] f32 = [-1.5f, 0f, 3.25f, float.MaxValue, float.Epsilon, 1e-20f];
        var e = IdxReader.Read(Write("f32" + gz, Idx(0x0D, [1, 1, 2, 3], BigEndian(f32, 4, (x, v) => BinaryPrimitives.WriteSingleBigEndian(x, v))), gz));
        e.Shape.Should().Be(new Shape(1, 1, 2, 3));
        e.GetData<float>().Should().Equal(f32);

        double[] f64 = [Math.PI, -0.0, 1e300, -2.5];
        var f = IdxReader.Read(Write("f64" + gz, Idx(0x0E, [2, 2], BigEndian(f64, 8, (x, v) => BinaryPrimitives.WriteDoubleBigEndian(x, v))), gz));
        f.DataType.Should().Be(IdxDataType.Float64);
        f.GetData<double>().Should().Equal(f64);

        var wrongType = () => f.GetData<float>();
        wrongType.Should().Throw<InvalidOperationException>().WithMessage("*Float64*Single*");
    }

    [Test]
    public void Gzip_is_recognised_by_content_and_large_payloads_are_read_in_chunks()
    {
        // 3 MB: several 1 MB read chunks.
        var payload = new byte[3 * 1024 * 1000];
        new Random(1).NextBytes(payload);
        var path = Write("noext", Gzip(Idx(0x08, [3, 1024, 1000], payload)));
        IdxReader.Read(path).GetData<byte>().Should().Equal(payload);
        IdxReader.Read(Write("raw-big", Idx(0x08, [3, 1024, 1000], payload))).GetData<byte>().Should().Equal(payload);
    }

    [Test]
    public void Stream_overload_reads_uncompressed_streams()
    {
        using var ms = new MemoryStream(Idx(0x0C, [2], [0, 0, 0, 5, 0xFF, 0xFF, 0xFF, 0xFE]));
        IdxReader.Read(ms, "memory").GetData<int>().Should().Equal(5, -2);
        using var bad = new MemoryStream(Idx(0x0C, [3], [0, 0, 0, 5]));
        var act = () => IdxReader.Read(bad, "memory");
        act.Should().Throw<InvalidDataException>().WithMessage("IDX file 'memory'*promises 12*");
    }

    private static IEnumerable<TestCaseData> Corruptions()
    {
        byte[] six = [1, 2, 3, 4, 5, 6];
        TestCaseData Case(string name, byte[] bytes, string rawMessage, string gzMessage) =>
            new TestCaseData(name, bytes, rawMessage, gzMessage).SetName("Corrupt_" + name);
        yield return Case("empty", [], "*truncated header*0 of 4*", "*truncated header*0 of 4*");
        yield return Case("short_magic", [0, 0, 8], "*truncated header*3 of 4*", "*truncated header*3 of 4*");
        yield return Case("wrong_magic", [1, 2, 8, 1, 0, 0, 0, 1, 5], "*wrong magic*0x01020801*", "*wrong magic*");
        yield return Case("unknown_type", Idx(0x0A, [1], [5]), "*unknown element type code 0x0A*", "*unknown element type*");
        yield return Case("rank0", Idx(0x08, [], [5]), "*rank 0*", "*rank 0*");
        yield return Case("rank5", Idx(0x08, [1, 1, 1, 1, 1], [5]), "*rank 5*", "*rank 5*");
        yield return Case("truncated_dims", Idx(0x08, [2], [], rank: 2), "*truncated header*4 of 8 dimension bytes*", "*truncated header*");
        yield return Case("negative_dim", Idx(0x08, [-3, 2], six), "*dimension 0 is -3*", "*dimension 0 is -3*");
        yield return Case("zero_dim", Idx(0x08, [2, 0], six), "*dimension 1 is 0*", "*dimension 1 is 0*");
        yield return Case("truncated_data", Idx(0x08, [2, 3], six[..5]), "*promises 6 data bytes*has 5*", "*truncated data*6*only 5*");
        yield return Case("extra_data", Idx(0x08, [2, 3], [.. six, 7]), "*promises 6 data bytes*has 7*", "*extra data*");
        yield return Case("dims_disagree", Idx(0x0C, [3, 3], new byte[10]), "*promises 36 data bytes*has 10*", "*truncated data*36*only 10*");
        yield return Case("huge_dims", Idx(0x08, [int.MaxValue, int.MaxValue], six), "*[2147483647, 2147483647]*more elements than an array*", "*more elements than an array*");
        yield return Case("huge_rank4", Idx(0x0E, [65536, 65536, 65536, 65536], six), "*more elements than an array*", "*more elements than an array*");
        yield return Case("over_limit", Idx(0x0D, [40000, 40000], six), "*6400000000 bytes*over the limit*", "*over the limit*");
    }

    [TestCaseSource(nameof(Corruptions))]
    public void Corrupt_files_are_rejected_naming_file_and_problem(string name, byte[] bytes, string rawMessage, string gzMessage)
    {
        foreach (var gz in new[] { false, true })
        {
            var path = Write("bad-" + name, bytes, gz);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            var act = () => IdxReader.Read(path);
            act.Should().Throw<InvalidDataException>()
                .WithMessage($"IDX file '{path}': " + (gz ? gzMessage : rawMessage));
            sw.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(1));
            (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(1 << 20, "nothing large is allocated for a bad file");
        }
    }

    [Test]
    public void Gzip_header_promising_more_than_the_file_can_hold_is_rejected_before_allocation()
    {
        // 1 GB promised, 10 bytes present: the gzip is tiny, so the promise is impossible.
        var path = Write("lying", Idx(0x08, [1000, 1000, 1000], new byte[10]), gz: true);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var act = () => IdxReader.Read(path);
        act.Should().Throw<InvalidDataException>().WithMessage("*lying.gz*1000000000 data bytes*more than the compressed file could hold*");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(1 << 20);
    }

    [Test]
    public void Short_gzip_stream_never_allocates_the_full_promise()
    {
        // Incompressible data, so the promise of 40 MB passes the deflate-ratio bound; only 2 MB are present.
        var payload = new byte[2 << 20];
        new Random(2).NextBytes(payload);
        var path = Write("short", Idx(0x08, [40, 1 << 20], payload), gz: true);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var act = () => IdxReader.Read(path);
        act.Should().Throw<InvalidDataException>().WithMessage("*short.gz*truncated data*41943040*only 2097152*");
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(24L << 20, "the buffer grows with the data, from 16 MB");
    }

    [Test]
    public void Corrupt_or_cut_gzip_is_rejected_naming_the_file()
    {
        var garbage = Write("garbage", [0x1F, 0x8B, 0x99, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        var act = () => IdxReader.Read(garbage);
        act.Should().Throw<InvalidDataException>().WithMessage($"IDX file '{garbage}': *");

        var payload = new byte[100_000];
        new Random(3).NextBytes(payload);
        var full = Gzip(Idx(0x08, [100_000], payload));
        var cut = Write("cut", full[..(full.Length / 2)]);
        var act2 = () => IdxReader.Read(cut);
        act2.Should().Throw<InvalidDataException>().WithMessage($"IDX file '{cut}': *");
    }

    [Test]
    public void Custom_size_limit_is_enforced()
    {
        var path = Write("limit", Idx(0x0C, [2], new byte[8]));
        var act = () => IdxReader.Read(path, maxDataBytes: 7);
        act.Should().Throw<InvalidDataException>().WithMessage("*8 bytes, over the limit of 7 bytes*");
        IdxReader.Read(path, maxDataBytes: 8).GetData<int>().Should().Equal(0, 0);
        IdxReader.ElementSize(IdxDataType.Float64).Should().Be(8);
    }

    [Test]
    public void Missing_file_throws_file_not_found()
    {
        var act = () => IdxReader.Read(Path.Combine(_dir, "absent"));
        act.Should().Throw<FileNotFoundException>();
    }
}
