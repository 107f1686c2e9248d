using DualFramework.Backends;
using DualFramework.Onnx;
using DualFramework.Onnx.Conformance;
using DualFramework.Onnx.Proto;
using DualFramework.Tests.NN;
using FluentAssertions;
using Google.Protobuf;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

/// <summary>An operand of a one-node ONNX test model: ONNX element type 1 (float), 2 (uint8), 3 (int8), 6 (int32), 7 (int64) or 9 (bool);
/// fixed integer <see cref="Vals"/>, fixed fractional <see cref="FVals"/> or seeded values in [Lo, Hi); <see cref="Init"/>
/// makes it an initializer.</summary>
public sealed record NodeIn(string Name, long[] Shape, int Type = 1, bool Init = false, double Lo = -2, double Hi = 2, long[]? Vals = null,
    double[]? FVals = null)
{
    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>A one-node ONNX test model: op, opset, operands, attributes, output element type and output count
/// (<see cref="OutTypes"/>, when set, gives each output its own element type).</summary>
public sealed record NodeCase(string Name, int Opset, string Op, NodeIn[] Inputs, AttributeProto[] Attrs, int OutType = 1, int Outs = 1)
{
    /// <summary>Per-output element types; null gives every output <see cref="OutType"/>.</summary>
    public int[]? OutTypes { get; init; }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>Builds one-node ONNX models and checks our import against ONNX Runtime on the original model.</summary>
internal static class OnnxNodeCases
{
    /// <summary>The eager backend.</summary>
    public static IComputeBackend Torch => BackendRegistry.Get("torch");

    /// <summary>The graph (ONNX Runtime) backend.</summary>
    public static IComputeBackend GraphBackend => BackendRegistry.Get("graph");

    /// <summary>A float operand of seeded values in [−2, 2).</summary>
    public static NodeIn F(string name, params long[] shape) => new(name, shape);

    /// <summary>A one-node case.</summary>
    public static NodeCase C(string name, int opset, string op, NodeIn[] ins, params AttributeProto[] attrs) => new(name, opset, op, ins, attrs);

    public static AttributeProto AI(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };
    public static AttributeProto AF(string name, float v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };
    public static AttributeProto AInts(string name, params long[] v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { v } };
    public static AttributeProto AS(string name, string v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(v) };

    /// <summary>The model bytes and the feeds of its graph inputs (initializers are inside the model).</summary>
    public static (byte[] Model, List<OrtHarness.HostTensor> Feeds) Build(NodeCase c, int seed)
    {
        var g = new GraphProto { Name = c.Name };
        var node = new NodeProto { OpType = c.Op, Name = "n0" };
        var outs = Enumerable.Range(0, c.Outs).Select(k => k == 0 ? "y" : $"y{k}").ToArray();
        node.Output.AddRange(outs);
        node.Attribute.AddRange(c.Attrs);
        var feeds = new List<OrtHarness.HostTensor>();
        foreach (var i in c.Inputs)
        {
            node.Input.Add(i.Name);
            var n = (int)new Shape(i.Shape).NumElements;
            var values = i.Vals?.Select(v => (double)v).ToArray() ?? i.FVals ?? NNRef.RandF(seed++, n, i.Lo, i.Hi).Select(v => (double)v).ToArray();
            var (dtype, bytes) = i.Type switch
            {
                7 => (DType.Int64, values.Select(v => (long)Math.Round(v)).SelectMany(BitConverter.GetBytes).ToArray()),
                6 => (DType.Int32, values.Select(v => (int)Math.Round(v)).SelectMany(BitConverter.GetBytes).ToArray()),
                2 => (DType.UInt8, values.Select(v => (byte)Math.Round(v)).ToArray()),
                3 => (DType.Int8, values.Select(v => (byte)(sbyte)Math.Round(v)).ToArray()),
                9 => (DType.Bool, values.Select(v => v > 0 ? (byte)1 : (byte)0).ToArray()),
                _ => (DType.Float32, values.Select(v => (float)v).SelectMany(BitConverter.GetBytes).ToArray()),
            };
            if (i.Init) g.Initializer.Add(new TensorProto { Name = i.Name, DataType = i.Type, Dims = { i.Shape }, RawData = ByteString.CopyFrom(bytes) });
            else
            {
                var shape = new TensorShapeProto();
                foreach (var d in i.Shape) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
                g.Input.Add(new ValueInfoProto { Name = i.Name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = i.Type, Shape = shape } } });
                feeds.Add(new OrtHarness.HostTensor(new TensorSpec(new Shape(i.Shape), dtype), bytes));
            }
        }
        g.Node.Add(node);
        for (int k = 0; k < outs.Length; k++)
            g.Output.Add(new ValueInfoProto { Name = outs[k], Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = c.OutTypes?[k] ?? c.OutType } } });
        var m = new ModelProto { IrVersion = 8, Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = c.Opset });
        return (m.ToByteArray(), feeds);
    }

    /// <summary>Imports the case and checks every output on each backend against ONNX Runtime (1e-5 abs + 1e-5 rel).</summary>
    public static void AssertMatchesOnnxRuntime(NodeCase c, int seed, params IComputeBackend[] backends) => AssertMatchesOnnxRuntime(c, c, seed, backends);

    /// <summary>Imports <paramref name="c"/> and checks its outputs against ONNX Runtime running <paramref name="reference"/>,
    /// the same computation written another way (its operands must draw the same seeded data).</summary>
    public static void AssertMatchesOnnxRuntime(NodeCase c, NodeCase reference, int seed, params IComputeBackend[] backends)
    {
        using var s = TensorScope.Begin();
        var (bytes, feeds) = Build(c, seed);
        var (refBytes, refFeeds) = Build(reference, seed);
        var wants = OrtHarness.Run(refBytes, refFeeds);
        wants.Should().HaveCount(c.Outs);
        using var model = OnnxImporter.FromBytes(bytes);
        var inputs = feeds.Select(f => Tensor.FromBytes(f.Data, f.Spec)).ToArray();
        foreach (var backend in backends)
        {
            var gots = model.Run(backend, inputs);
            for (int o = 0; o < c.Outs; o++)
            {
                var (got, want) = (gots[o], wants[o]);
                got.Spec.Should().Be(want.Spec, $"{c.Name} output {o} on {backend.Name}");
                var w = want.ToDoubles();
                var gd = got.ToDoubleArray();
                for (int k = 0; k < w.Length; k++)
                    Math.Abs(gd[k] - w[k]).Should().BeLessThanOrEqualTo(1e-5 + 1e-5 * Math.Abs(w[k]), $"{c.Name} output {o} on {backend.Name}, element {k}");
            }
        }
    }

    /// <summary>Runs ONNX backend node tests (from libonnx-testdata) through <see cref="ConformanceRunner"/> on one backend
    /// and asserts that each passes; ignored where the test data is not installed.</summary>
    public static void AssertNodeTestsPass(string backendName, IEnumerable<string> names)
    {
        const string suite = "/usr/share/libonnx-testdata/data/node";
        if (!Directory.Exists(suite)) Assert.Ignore("libonnx-testdata is not installed (scripts/install-system-deps.sh --tests).");
        var backend = BackendRegistry.Get(backendName);
        foreach (var name in names)
        {
            var r = ConformanceRunner.RunCase(Path.Combine(suite, name), backend);
            r.Should().Be(new CaseResult(name, CaseOutcome.Passed, null), because: r.Reason);
        }
    }
}
