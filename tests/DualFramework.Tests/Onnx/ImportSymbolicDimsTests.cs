using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using FluentAssertions;
using Google.Protobuf;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

/// <summary>
/// Models with open input dims (<c>dim_param</c>s): one imported graph serves every batch and sequence length on both
/// backends, its shape arithmetic (Shape → Gather → Concat → Reshape, a Slice by the sequence length) becoming symbolic;
/// outputs compared with ONNX Runtime running the original file. Export keeps the dims symbolic.
/// </summary>
[TestFixture]
public class ImportSymbolicDimsTests
{
    private static readonly IComputeBackend Torch = BackendRegistry.Get("torch");
    private static readonly IComputeBackend GraphBackend = BackendRegistry.Get("graph");

    private static ValueInfoProto Info(string name, int elemType, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string s ? new TensorShapeProto.Types.Dimension { DimParam = s } : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } } };
    }

    private static TensorProto Floats(string name, float[] v, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = 1, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan())) };
        t.Dims.AddRange(dims);
        return t;
    }

    private static TensorProto Longs(string name, long[] v, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = 7, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan())) };
        t.Dims.AddRange(dims);
        return t;
    }

    private static NodeProto N(string op, string[] ins, string output, params AttributeProto[] attrs)
    {
        var n = new NodeProto { OpType = op, Name = output };
        n.Input.AddRange(ins);
        n.Output.Add(output);
        n.Attribute.AddRange(attrs);
        return n;
    }

    /// <summary>x [batch, seq, 4] plus the first seq rows of a 512-row position table, flattened to [batch·seq, 4] by a
    /// shape computed from Shape(x), through a 4×3 matrix, reshaped back to [batch, seq, 3], softmax.</summary>
    internal static ModelProto PositionalModel()
    {
        var g = new GraphProto { Name = "positional" };
        g.Input.Add(Info("x", 1, "batch", "seq", 4));
        g.Output.Add(Info("y", 1, "batch", "seq", 3));
        g.Initializer.Add(Floats("pos", IRTestData(1, 512 * 4), 1, 512, 4));
        g.Initializer.Add(Floats("w", IRTestData(2, 12), 4, 3));
        g.Initializer.Add(Longs("i0", [0]));
        g.Initializer.Add(Longs("i1", [1]));
        g.Initializer.Add(Longs("zero", [0], 1));
        g.Initializer.Add(Longs("axis0", [0], 1));
        g.Initializer.Add(Longs("axis1", [1], 1));
        g.Initializer.Add(Longs("four", [4], 1));
        g.Initializer.Add(Longs("three", [3], 1));
        g.Node.Add(N("Shape", ["x"], "sh"));
        g.Node.Add(N("Gather", ["sh", "i0"], "b"));
        g.Node.Add(N("Gather", ["sh", "i1"], "s"));
        g.Node.Add(N("Unsqueeze", ["s", "axis0"], "s1"));
        g.Node.Add(N("Slice", ["pos", "zero", "s1", "axis1"], "p"));
        g.Node.Add(N("Add", ["x", "p"], "h"));
        g.Node.Add(N("Mul", ["b", "s"], "bs"));
        g.Node.Add(N("Unsqueeze", ["bs", "axis0"], "bs1"));
        g.Node.Add(N("Concat", ["bs1", "four"], "flat_shape", new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 0 }));
        g.Node.Add(N("Reshape", ["h", "flat_shape"], "f"));
        g.Node.Add(N("MatMul", ["f", "w"], "m"));
        g.Node.Add(N("Unsqueeze", ["b", "axis0"], "b1"));
        g.Node.Add(N("Concat", ["b1", "s1", "three"], "out_shape", new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 0 }));
        g.Node.Add(N("Reshape", ["m", "out_shape"], "r"));
        g.Node.Add(N("Softmax", ["r"], "y", new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = -1 }));
        var m = new ModelProto { IrVersion = 8, Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return m;
    }

    private static float[] IRTestData(int seed, int n) => DualFramework.Tests.IR.IRTestSupport.Rand(seed, n);

    private static readonly (int Batch, int Seq)[] Sizes = [(1, 5), (2, 12), (7, 33), (3, 1), (2, 12)];

    private static void ShouldMatchOrt(byte[] model, ImportedModel imported, IComputeBackend backend, int batch, int seq)
    {
        using var s = TensorScope.Begin();
        var x = IRTestData(batch * 100 + seq, batch * seq * 4);
        var spec = new TensorSpec(new Shape(batch, seq, 4), DType.Float32);
        var expected = OrtHarness.Run(model, [new OrtHarness.HostTensor(spec, System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()).ToArray())])[0];
        var y = imported.Run(backend, Tensor.FromArray(x, spec.Shape))[0];
        y.Shape.Should().Be(new Shape(batch, seq, 3));
        var want = expected.ToDoubles();
        var got = y.ToDoubleArray();
        for (int i = 0; i < want.Length; i++) got[i].Should().BeApproximately(want[i], 1e-5, $"{backend.Name} [{batch}, {seq}] element {i}");
    }

    [Test]
    public void One_graph_serves_every_batch_and_length_on_both_backends()
    {
        var bytes = PositionalModel().ToByteArray();
        using var model = OnnxImporter.FromBytes(bytes);
        model.IsSymbolic.Should().BeTrue(model.SymbolicFallbackReason);
        model.SymbolicFallbackReason.Should().BeNull();
        foreach (var backend in new[] { Torch, GraphBackend })
            foreach (var (b, l) in Sizes) ShouldMatchOrt(bytes, model, backend, b, l);
        model.GraphCount.Should().Be(1);
        model.CompileCount.Should().Be(2, "one compilation per backend for every size");
        var g = model.Graph;
        g.Symbols.Select(s => s.Name).Should().Equal("batch", "seq");
        g.Inputs[0].TypeText.Should().Be("float32[batch, seq, 4]");
        g.Outputs[0].TypeText.Should().Be("float32[batch, seq, 3]");
        var dump = g.Dump();
        dump.Should().Contain("float32[batch*seq, 4]", "the flattening reshape's target computed from Shape(x)");
        dump.Should().Contain("symbolic Ends[0]=seq", "the position table is sliced by the sequence length");
    }

    [Test]
    public void Export_keeps_the_dims_symbolic_and_round_trips()
    {
        var bytes = PositionalModel().ToByteArray();
        using var model = OnnxImporter.FromBytes(bytes);
        var exported = OnnxExporter.ToModel(model.Graph);
        var x = exported.Graph.Input[0].Type.TensorType.Shape.Dim;
        x.Select(d => d.DimParam).Should().Equal("batch", "seq", "");
        x[2].DimValue.Should().Be(4);
        exported.Graph.Output[0].Type.TensorType.Shape.Dim.Select(d => d.DimParam).Should().Equal("batch", "seq", "");
        var again = exported.ToByteArray();
        // The exported file itself runs at any size in ONNX Runtime (its reshape targets are computed in the model) …
        foreach (var (b, l) in Sizes.Take(3))
        {
            using var s = TensorScope.Begin();
            var xs = IRTestData(b + l, b * l * 4);
            var spec = new TensorSpec(new Shape(b, l, 4), DType.Float32);
            var input = new OrtHarness.HostTensor(spec, System.Runtime.InteropServices.MemoryMarshal.AsBytes(xs.AsSpan()).ToArray());
            var state = model.Graph.Inputs.Skip(1).Select((v, k) => new OrtHarness.HostTensor(v.Spec, model.StateDict()[v.Name].ToBytes())).ToArray();
            OrtHarness.Run(again, [input, .. state])[0].ToDoubles().Should().Equal(OrtHarness.Run(bytes, [input])[0].ToDoubles(), (p, q) => Math.Abs(p - q) < 1e-5);
        }
        // … and imports as symbolic again.
        using var reimported = OnnxImporter.FromBytes(again);
        reimported.IsSymbolic.Should().BeTrue(reimported.SymbolicFallbackReason);
        reimported.Graph.Symbols.Select(s => s.Name).Should().Equal("batch", "seq");
    }

    [Test]
    public void A_model_that_does_not_generalise_gets_a_graph_per_shape_and_says_why()
    {
        // Range(0, seq) folds to a constant whose length is the sequence length: the graph changes with the sizes.
        var g = new GraphProto { Name = "range" };
        g.Input.Add(Info("x", 1, "batch", "seq"));
        g.Output.Add(Info("y", 1, "batch", "seq"));
        g.Initializer.Add(Longs("i1", [1]));
        g.Initializer.Add(Longs("z", [0]));
        g.Initializer.Add(Longs("one", [1]));
        g.Node.Add(N("Shape", ["x"], "sh"));
        g.Node.Add(N("Gather", ["sh", "i1"], "s"));
        g.Node.Add(N("Range", ["z", "s", "one"], "r"));
        g.Node.Add(N("Cast", ["r"], "rf", new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = 1 }));
        g.Node.Add(N("Add", ["x", "rf"], "y"));
        var m = new ModelProto { IrVersion = 8, Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        using var model = OnnxImporter.FromModel(m);
        model.IsSymbolic.Should().BeFalse();
        model.SymbolicFallbackReason.Should().Contain("constant").And.Contain("changes with the sizes");
        using var s = TensorScope.Begin();
        foreach (int len in new[] { 3, 5 })
        {
            var y = model.Run(Torch, Tensor.FromArray(new float[2 * len], new Shape(2, len)))[0];
            y.ToDoubleArray().Should().Equal(Enumerable.Range(0, 2 * len).Select(i => (double)(i % len)));
        }
        model.GraphCount.Should().BeGreaterThan(1);
    }

    [Test]
    public void Symbolic_dims_can_be_switched_off()
    {
        using var model = OnnxImporter.FromBytes(PositionalModel().ToByteArray(), new OnnxImportOptions { SymbolicDims = false });
        model.IsSymbolic.Should().BeFalse();
        model.SymbolicFallbackReason.Should().BeNull();
        using var s = TensorScope.Begin();
        model.Run(Torch, Tensor.FromArray(new float[2 * 3 * 4], new Shape(2, 3, 4)));
        model.Run(Torch, Tensor.FromArray(new float[1 * 7 * 4], new Shape(1, 7, 4)));
        model.GraphCount.Should().Be(3, "the declared-shape graph and one per shape run");
    }
}
