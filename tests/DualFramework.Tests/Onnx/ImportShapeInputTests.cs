using DualFramework.Backends;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using FluentAssertions;
using Google.Protobuf;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

/// <summary>Models whose shape-like operands are model inputs ("shape inputs"): one graph per distinct value set, cached;
/// shape arguments computed from constants folded at import so the graph stays static.</summary>
[TestFixture]
public class ImportShapeInputTests
{
    private static readonly IComputeBackend Torch = BackendRegistry.Get("torch");
    private static readonly IComputeBackend GraphBackend = BackendRegistry.Get("graph");

    private static ValueInfoProto Info(string name, int elemType, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } } };
    }

    private static ModelProto Model(IEnumerable<ValueInfoProto> inputs, ValueInfoProto output, params NodeProto[] nodes)
    {
        var g = new GraphProto { Name = "g" };
        g.Input.AddRange(inputs);
        g.Node.AddRange(nodes);
        g.Output.Add(output);
        var m = new ModelProto { IrVersion = 8, Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return m;
    }

    // x: float [2, 3, 4] (values 0..23), s: int64 [len] → Relu(Reshape(x, s)).
    private static ModelProto ReshapeModel(int len) => Model([Info("x", 1, 2, 3, 4), Info("s", 7, len)], Info("y", 1),
        new NodeProto { OpType = "Reshape", Name = "r", Input = { "x", "s" }, Output = { "z" } },
        new NodeProto { OpType = "Relu", Name = "a", Input = { "z" }, Output = { "y" } });

    private static Tensor X(IComputeBackend? b = null) => Tensor.FromArray(Enumerable.Range(0, 24).Select(i => (float)i).ToArray(), new Shape(2, 3, 4), b);

    private static Tensor S(params long[] v) => Tensor.FromArray(v);

    [Test]
    public void ShapeInput_BuildsOneGraphPerValue_AndCachesThem()
    {
        using var s = TensorScope.Begin();
        using var model = OnnxImporter.FromModel(ReshapeModel(2));
        model.ShapeInputNames.Should().Equal("s");
        model.GraphCount.Should().Be(0);
        FluentActions.Invoking(() => model.Graph).Should().Throw<InvalidOperationException>().WithMessage("*shape input(s) s*GraphFor*");
        model.InputSpecs.Should().Equal(new TensorSpec(new Shape(2, 3, 4), DType.Float32), new TensorSpec(new Shape(2), DType.Int64));

        foreach (var backend in new[] { Torch, GraphBackend })
        {
            var a = model.Run(backend, X(), S(4, -1))[0];
            a.Shape.Should().Be(new Shape(4, 6));
            a.ToDoubleArray().Should().Equal(Enumerable.Range(0, 24).Select(i => (double)i));
            var b = model.Run(backend, X(), S(0, 12))[0];
            b.Shape.Should().Be(new Shape(2, 12));
        }
        model.GraphCount.Should().Be(2, "one graph per distinct shape value, shared by the backends");
        model.Run(Torch, X(), S(4, -1))[0].Shape.Should().Be(new Shape(4, 6));
        model.GraphCount.Should().Be(2, "a value seen before reuses its graph");
        model.GraphFor(X(), S(6, 4)).Nodes.Select(n => n.Op.Name).Should().Equal("reshape", "relu");
        model.Forward([X(), S(3, 8)])[0].Shape.Should().Be(new Shape(3, 8));
    }

    [Test]
    public void ShapeInput_BadValue_FailsTheRunWithAClearError()
    {
        using var s = TensorScope.Begin();
        using var model = OnnxImporter.FromModel(ReshapeModel(2));
        FluentActions.Invoking(() => model.Run(Torch, X(), S(5, 5))).Should().Throw<OnnxImportException>().WithMessage("*Reshape node 'r'*cannot reshape 24 elements into [5, 5]*");
        FluentActions.Invoking(() => model.Run(Torch, X(), S(-1, -1))).Should().Throw<OnnxImportException>().WithMessage("*more than one -1*");
        model.GraphCount.Should().Be(0);
    }

    [Test]
    public void ShapeInput_CacheKeepsAtMostMaxGraphs()
    {
        using var s = TensorScope.Begin();
        using var model = OnnxImporter.FromModel(ReshapeModel(2));
        int[] rows = [1, 2, 3, 4, 6, 8, 12, 24];
        foreach (var r in rows) model.Run(Torch, X(), S(r, -1));
        foreach (var r in rows) model.Run(Torch, X(), S(-1, r));
        model.Run(Torch, X(), S(24, 1)); // equal to an earlier value: cached
        model.GraphCount.Should().Be(ImportedModel.MaxGraphs);
        model.Run(Torch, X(), S(0, -1))[0].Shape.Should().Be(new Shape(2, 12));
        model.GraphCount.Should().Be(ImportedModel.MaxGraphs, "the oldest graph is dropped");
    }

    [Test]
    public void ShapeComputedFromConstants_IsFoldedAndTheGraphStaysStatic()
    {
        using var s = TensorScope.Begin();
        // y = Reshape(x, Concat(Gather(Shape(x), [0]), [-1])): the shape depends only on static shapes.
        var idx = new TensorProto { Name = "i", DataType = 7, Dims = { 1 }, Int64Data = { 0 } };
        var minus = new TensorProto { Name = "m", DataType = 7, Dims = { 1 }, Int64Data = { -1 } };
        var m = Model([Info("x", 1, 2, 3, 4)], Info("y", 1, 2, 12),
            new NodeProto { OpType = "Shape", Name = "sh", Input = { "x" }, Output = { "sh" } },
            new NodeProto { OpType = "Gather", Name = "g", Input = { "sh", "i" }, Output = { "n" } },
            new NodeProto { OpType = "Concat", Name = "c", Input = { "n", "m" }, Output = { "t" }, Attribute = { new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 0 } } },
            new NodeProto { OpType = "Reshape", Name = "r", Input = { "x", "t" }, Output = { "y" } });
        m.Graph.Initializer.Add(idx);
        m.Graph.Initializer.Add(minus);
        using var model = OnnxImporter.FromModel(m);
        model.ShapeInputNames.Should().BeEmpty();
        model.Graph.Nodes.Select(n => n.Op.Name).Should().Equal("reshape");
        model.Run(Torch, X())[0].Shape.Should().Be(new Shape(2, 12));
    }

    [Test]
    public void ShapeInputThroughOtherOps_IsFoundWhenTheModelRuns()
    {
        using var s = TensorScope.Begin();
        // y = Reshape(x, Cast(f)) with a float model input f: found through the Cast at import, specialised per value.
        var m = Model([Info("x", 1, 2, 3, 4), Info("f", 1, 2)], Info("y", 1),
            new NodeProto { OpType = "Cast", Name = "c", Input = { "f" }, Output = { "s" }, Attribute = { new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = 7 } } },
            new NodeProto { OpType = "Reshape", Name = "r", Input = { "x", "s" }, Output = { "y" } });
        using var model = OnnxImporter.FromModel(m);
        model.ShapeInputNames.Should().Equal("f");
        var y = model.Run(GraphBackend, X(), Tensor.FromArray(new float[] { 8, 3 }))[0];
        y.Shape.Should().Be(new Shape(8, 3));
    }

    [Test]
    public void NodesNotNeedingShapeValues_AreStillCheckedAtImport()
    {
        // The Relu after a deferred Reshape is deferred too, but an unsupported node elsewhere is reported at import.
        var m = ReshapeModel(2);
        m.Graph.Node.Add(new NodeProto { OpType = "Conv", Name = "bad", Input = { "x", "x" }, Output = { "q" }, Attribute = { new AttributeProto { Name = "auto_pad", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8("WRONG") } } });
        m.Graph.Output.Add(Info("q", 1));
        FluentActions.Invoking(() => OnnxImporter.FromModel(m)).Should().Throw<OnnxImportException>().WithMessage("*auto_pad 'WRONG' is not supported*");
    }
}
