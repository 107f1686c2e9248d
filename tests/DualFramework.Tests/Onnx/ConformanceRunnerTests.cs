using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.Onnx;
using DualFramework.Onnx.Conformance;
using DualFramework.Onnx.Proto;
using DualFramework.Operators;
using FluentAssertions;
using Google.Protobuf;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

[TestFixture]
public class ConformanceRunnerTests
{
    private const string NodeSuite = "/usr/share/libonnx-testdata/data/node";

    private static readonly float[] X = [-1.5f, -0.25f, 0f, 0.5f, 1.25f, 3f];

    private static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "df-conformance-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    private static byte[] Raw(float[] v)
    {
        var b = new byte[v.Length * 4];
        Buffer.BlockCopy(v, 0, b, 0, b.Length);
        return b;
    }

    private static void WritePb(string path, string name, long[] dims, float[] v)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(Raw(v)) };
        t.Dims.AddRange(dims);
        File.WriteAllBytes(path, t.ToByteArray());
    }

    /// <summary>A case folder with y = relu(x) + x exported by OnnxExporter; <paramref name="alter"/> edits the expected output.</summary>
    private static void WriteSyntheticCase(string dir, Action<float[]>? alter = null)
    {
        Directory.CreateDirectory(Path.Combine(dir, "test_data_set_0"));
        var g = new Graph();
        var x = g.AddInput(new TensorSpec(new Shape(2, 3), DType.Float32), "x");
        var r = g.AddNode(OpSet.Relu, OpAttrs.None, [x], "act")[0];
        g.AddOutput(g.AddNode(OpSet.Add, OpAttrs.None, [r, x], "sum")[0]);
        OnnxExporter.Save(g, Path.Combine(dir, "model.onnx"));
        // Expected values computed here, independently of any backend.
        var y = X.Select(v => Math.Max(v, 0f) + v).ToArray();
        alter?.Invoke(y);
        WritePb(Path.Combine(dir, "test_data_set_0", "input_0.pb"), "x", [2, 3], X);
        WritePb(Path.Combine(dir, "test_data_set_0", "output_0.pb"), "y", [2, 3], y);
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void OnnxNodeSuiteSubsetPasses(string backendName)
    {
        if (!Directory.Exists("/usr/share/libonnx-testdata")) Assert.Ignore("libonnx-testdata is not installed (scripts/install-system-deps.sh --tests).");
        var backend = BackendRegistry.Get(backendName);
        foreach (var name in new[] { "test_relu", "test_add", "test_sigmoid", "test_conv_with_strides_padding", "test_matmul_2d" })
        {
            var r = ConformanceRunner.RunCase(Path.Combine(NodeSuite, name), backend);
            r.Should().Be(new CaseResult(name, CaseOutcome.Passed, null), because: r.Reason);
        }
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void SyntheticCasesPassAndFailWithReason(string backendName)
    {
        var backend = BackendRegistry.Get(backendName);
        var suite = TempDir();
        try
        {
            WriteSyntheticCase(Path.Combine(suite, "case_good"));
            WriteSyntheticCase(Path.Combine(suite, "case_altered"), y => y[4] += 0.01f);
            var results = new List<CaseResult>();
            var summary = ConformanceRunner.RunSuite(suite, backend, onCase: results.Add);

            summary.Cases.Should().BeEquivalentTo(results);
            summary.Cases.Select(c => c.Name).Should().Equal("case_altered", "case_good");
            summary.Cases[1].Outcome.Should().Be(CaseOutcome.Passed);
            summary.Cases[0].Outcome.Should().Be(CaseOutcome.Failed);
            summary.Cases[0].Reason.Should().Contain("1 of 6 elements differ").And.Contain("worst at 4");
            summary.ToJson().Should().Be($"{{\"backend\":\"{backendName}\",\"passed\":1,\"failed\":1,\"unsupported\":0,\"total\":2}}");
        }
        finally
        {
            Directory.Delete(suite, true);
        }
    }

    [Test]
    public void UnknownOpIsUnsupportedAndBrokenCaseFails()
    {
        var backend = BackendRegistry.Get("torch");
        var suite = TempDir();
        try
        {
            var dir = Path.Combine(suite, "case_unknown_op");
            WriteSyntheticCase(dir);
            var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, "model.onnx")));
            model.Graph.Node[0].OpType = "NoSuchOp";
            File.WriteAllBytes(Path.Combine(dir, "model.onnx"), model.ToByteArray());
            var r = ConformanceRunner.RunCase(dir, backend);
            r.Outcome.Should().Be(CaseOutcome.Unsupported);
            r.Reason.Should().Contain("NoSuchOp");

            var noData = Path.Combine(suite, "case_no_data");
            WriteSyntheticCase(noData);
            Directory.Delete(Path.Combine(noData, "test_data_set_0"), true);
            ConformanceRunner.RunCase(noData, backend).Should().Be(new CaseResult("case_no_data", CaseOutcome.Failed, "no test_data_set_* folder"));

            var garbage = Path.Combine(suite, "case_garbage");
            WriteSyntheticCase(garbage);
            File.WriteAllBytes(Path.Combine(garbage, "model.onnx"), [0xff, 0xff, 0xff]);
            ConformanceRunner.RunCase(garbage, backend).Outcome.Should().Be(CaseOutcome.Failed);
        }
        finally
        {
            Directory.Delete(suite, true);
        }
    }

    [Test]
    public void CompareUsesOnnxTolerances()
    {
        var spec = new TensorSpec(new Shape(3), DType.Float32);
        byte[] F(params float[] v) => Raw(v);
        ConformanceRunner.Compare(spec, F(1f, float.NaN, float.PositiveInfinity), spec, F(1f, float.NaN, float.PositiveInfinity)).Should().BeNull();
        // 1e-3 relative of 100 is 0.1: a difference of 0.09 passes, 0.2 does not.
        ConformanceRunner.Compare(spec, F(100.09f, 0f, 0f), spec, F(100f, 0f, 0f)).Should().BeNull();
        ConformanceRunner.Compare(spec, F(100.2f, 0f, 0f), spec, F(100f, 0f, 0f)).Should().Contain("worst at 0");
        ConformanceRunner.Compare(spec, F(0f, float.NaN, 0f), spec, F(0f, 1f, 0f)).Should().Contain("worst at 1");
        ConformanceRunner.Compare(spec, F(0f, 0f, 1e-6f), spec, F(0f, 0f, 0f)).Should().Contain("1 of 3");

        var other = new TensorSpec(new Shape(1, 3), DType.Float32);
        ConformanceRunner.Compare(other, F(1f, 2f, 3f), spec, F(1f, 2f, 3f)).Should().Contain("shape");
        var ints = new TensorSpec(new Shape(3), DType.Int32);
        ConformanceRunner.Compare(ints, F(1f, 2f, 3f), spec, F(1f, 2f, 3f)).Should().Contain("dtype");
        var a = new byte[12];
        var b = new byte[12];
        BitConverter.TryWriteBytes(a.AsSpan(8), 5);
        BitConverter.TryWriteBytes(b.AsSpan(8), 6);
        ConformanceRunner.Compare(ints, a, ints, b).Should().Be("element 2 is 5, expected 6 (exact)");
    }
}
