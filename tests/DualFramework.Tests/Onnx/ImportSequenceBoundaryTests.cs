using DualFramework.Backends;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

/// <summary>Sequence and optional values at a model's boundary (<see cref="OnnxValue"/>, one graph per input structure),
/// carried through If and Loop, SequenceMap and the Optional ops, and the ONNX node tests of these on both backends.</summary>
[TestFixture]
public class ImportSequenceBoundaryTests
{
    private static readonly IComputeBackend[] Both = [BackendRegistry.Get("torch"), BackendRegistry.Get("graph")];

    private const int F32 = 1, I64 = 7;

    private static readonly string[] NodeTests =
    [
        "test_identity_sequence", "test_if_seq", "test_loop13_seq", "test_sequence_insert_at_back", "test_sequence_insert_at_front",
        "test_sequence_map_add_1_sequence_1_tensor", "test_sequence_map_add_2_sequences", "test_sequence_map_extract_shapes",
        "test_sequence_map_identity_1_sequence", "test_sequence_map_identity_1_sequence_1_tensor", "test_sequence_map_identity_2_sequences",
        "test_sequence_map_add_1_sequence_1_tensor_expanded", "test_sequence_map_add_2_sequences_expanded", "test_sequence_map_extract_shapes_expanded",
        "test_sequence_map_identity_1_sequence_expanded", "test_sequence_map_identity_1_sequence_1_tensor_expanded",
        "test_sequence_map_identity_2_sequences_expanded",
        "test_identity_opt", "test_if_opt", "test_loop16_seq_none", "test_optional_get_element", "test_optional_get_element_sequence",
        "test_optional_has_element", "test_optional_has_element_empty",
    ];

    private static IEnumerable<TestCaseData> NodeTestCases() =>
        from backend in new[] { "torch", "graph" } from name in NodeTests select new TestCaseData(backend, name).SetName($"{{m}}({backend}, {name})");

    [TestCaseSource(nameof(NodeTestCases))]
    public void Onnx_node_test_passes(string backendName, string caseName) => OnnxNodeCases.AssertNodeTestsPass(backendName, [caseName]);

    private static TypeProto TensorType(int elemType, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } };
    }

    private static TypeProto SeqType(TypeProto element) => new() { SequenceType = new TypeProto.Types.Sequence { ElemType = element } };

    private static TypeProto OptType(TypeProto element) => new() { OptionalType = new TypeProto.Types.Optional { ElemType = element } };

    private static ValueInfoProto Info(string name, TypeProto type) => new() { Name = name, Type = type };

    private static NodeProto N(string op, string[] ins, string[] outs, params AttributeProto[] attrs) => ImportControlFlowTests.N(op, ins, outs, attrs);

    private static ModelProto Model(ValueInfoProto[] inputs, ValueInfoProto[] outputs, params NodeProto[] nodes)
    {
        var g = new GraphProto { Name = "m" };
        g.Input.AddRange(inputs);
        g.Output.AddRange(outputs);
        g.Node.AddRange(nodes);
        var m = new ModelProto { IrVersion = 8, Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return m;
    }

    // ys = SequenceMap(xs, b) with body x ↦ x * b; n = SequenceLength(xs); first = SequenceAt(xs, 0).
    private static ModelProto SequenceModel()
    {
        var body = new GraphProto { Name = "body" };
        body.Input.Add(Info("x", TensorType(F32, 2)));
        body.Input.Add(Info("bb", TensorType(F32, 2)));
        body.Output.Add(Info("y", TensorType(F32, 2)));
        body.Node.Add(N("Mul", ["x", "bb"], ["y"]));
        var m = Model([Info("xs", SeqType(TensorType(F32, 2))), Info("b", TensorType(F32, 2))],
            [Info("ys", SeqType(TensorType(F32, 2))), Info("n", TensorType(I64)), Info("first", TensorType(F32, 2))],
            N("SequenceMap", ["xs", "b"], ["ys"], new AttributeProto { Name = "body", Type = AttributeProto.Types.AttributeType.Graph, G = body }),
            N("SequenceLength", ["xs"], ["n"]),
            N("SequenceAt", ["xs", "zero"], ["first"]));
        m.Graph.Initializer.Add(new TensorProto { Name = "zero", DataType = I64, Int64Data = { 0 } });
        return m;
    }

    [Test]
    public void SequenceInputAndOutput_RunThroughOnnxValues_OneGraphPerStructure()
    {
        using var s = TensorScope.Begin();
        using var model = OnnxImporter.FromModel(SequenceModel());
        model.InputKinds.Should().Equal(OnnxValueKind.Sequence, OnnxValueKind.Tensor);
        model.OutputKinds.Should().Equal(OnnxValueKind.Sequence, OnnxValueKind.Tensor, OnnxValueKind.Tensor);
        model.InputSpecs[0].DType.Should().Be(DType.Float32, "a sequence input's spec is its elements' declared spec");
        var b = Tensor.FromArray(new[] { 2f, -1f }, new Shape(2));
        foreach (var backend in Both)
        {
            var xs = OnnxValue.FromSequence([Tensor.FromArray(new[] { 1f, 2f }, new Shape(2)), Tensor.FromArray(new[] { 3f, 4f }, new Shape(2)),
                Tensor.FromArray(new[] { 5f, 6f }, new Shape(2))]);
            var r = model.Run(backend, [xs, b]);
            r.Should().HaveCount(3);
            r[0].Kind.Should().Be(OnnxValueKind.Sequence);
            r[0].Elements.Select(t => t.ToDoubleArray()).Should().BeEquivalentTo(new[] { new double[] { 2, -2 }, [6, -4], [10, -6] }, o => o.WithStrictOrdering());
            r[1].Tensor.ToDoubleArray().Should().Equal(3);
            r[2].Tensor.ToDoubleArray().Should().Equal(1, 2);
            var two = model.Run(backend, [OnnxValue.FromSequence([Tensor.FromArray(new[] { 7f, 8f }, new Shape(2)), Tensor.FromArray(new[] { 9f, 1f }, new Shape(2))]), b]);
            two[0].Elements.Should().HaveCount(2);
            two[0].Elements[1].ToDoubleArray().Should().Equal(18, -1);
            two[1].Tensor.ToDoubleArray().Should().Equal(2);
        }
        model.GraphCount.Should().Be(2, "one graph per structure (3 elements, 2 elements), reused by the second backend");
        var seq3 = OnnxValue.FromSequence(Enumerable.Range(0, 3).Select(_ => Tensor.FromArray(new[] { 1f, 1f }, new Shape(2))));
        model.GraphFor([seq3, b]).Inputs.Should().HaveCount(4, "each element of the sequence is a graph input, then b");
        model.GraphCount.Should().Be(2, "the 3-element structure is cached");
        FluentActions.Invoking(() => model.Run(Both[0], [OnnxValue.FromSequence([]), b])).Should().Throw<OnnxImportException>()
            .WithMessage("*SequenceAt*reading from an empty sequence*", "SequenceAt(xs, 0) has no element to read");
    }

    [Test]
    public void SequenceInput_WrongUse_NamesTheInputAndWhatItExpects()
    {
        using var s = TensorScope.Begin();
        using var model = OnnxImporter.FromModel(SequenceModel());
        var b = Tensor.FromArray(new[] { 2f, -1f }, new Shape(2));
        FluentActions.Invoking(() => model.Run(Both[0], b, b)).Should().Throw<ArgumentException>().WithMessage("*Input xs is a sequence*OnnxValue*");
        FluentActions.Invoking(() => model.Run(Both[0], new OnnxValue[] { b, b })).Should().Throw<ArgumentException>().WithMessage("*Input xs is a sequence of float32, got: tensor float32[2]*");
        FluentActions.Invoking(() => model.Run(Both[0], [OnnxValue.FromSequence([Tensor.FromArray(new[] { 1L, 2L }, new Shape(2))]), b]))
            .Should().Throw<ArgumentException>().WithMessage("*Input xs is a sequence of float32, got an element int64[2]*");
        FluentActions.Invoking(() => model.Graph).Should().Throw<InvalidOperationException>().WithMessage("*structure of its sequence or optional input(s) xs*");
        FluentActions.Invoking(() => model.Forward([b, b])).Should().Throw<ArgumentException>().WithMessage("*Input xs is a sequence*");
    }

    // has = OptionalHasElement(o); same = Identity(o); value = OptionalGetElement(Optional(x)).
    private static ModelProto OptionalModel() =>
        Model([Info("o", OptType(TensorType(F32, 3))), Info("x", TensorType(F32, 2))],
            [Info("has", TensorType(9)), Info("same", OptType(TensorType(F32, 3))), Info("value", TensorType(F32, 2))],
            N("OptionalHasElement", ["o"], ["has"]),
            N("Identity", ["o"], ["same"]),
            N("Optional", ["x"], ["ox"]),
            N("OptionalGetElement", ["ox"], ["value"]));

    [Test]
    public void OptionalInput_EmptyOrHoldingATensor_IsSpecialisedOnWhich()
    {
        using var s = TensorScope.Begin();
        using var model = OnnxImporter.FromModel(OptionalModel());
        model.InputKinds.Should().Equal(OnnxValueKind.Optional, OnnxValueKind.Tensor);
        model.OutputKinds.Should().Equal(OnnxValueKind.Tensor, OnnxValueKind.Optional, OnnxValueKind.Tensor);
        var x = Tensor.FromArray(new[] { 4f, 5f }, new Shape(2));
        foreach (var backend in Both)
        {
            var none = model.Run(backend, [OnnxValue.EmptyOptional, x]);
            none[0].Tensor.ToDoubleArray().Should().Equal(0);
            none[1].HasElement.Should().BeFalse();
            none[2].Tensor.ToDoubleArray().Should().Equal(4, 5);
            var some = model.Run(backend, [OnnxValue.Optional(Tensor.FromArray(new[] { 1f, 2f, 3f }, new Shape(3))), x]);
            some[0].Tensor.ToDoubleArray().Should().Equal(1);
            some[1].HasElement.Should().BeTrue();
            some[1].Element!.Tensor.ToDoubleArray().Should().Equal(1, 2, 3);
        }
        model.GraphCount.Should().Be(2, "one graph for the empty optional, one for the optional holding a tensor");
        FluentActions.Invoking(() => model.Run(Both[0], [OnnxValue.Optional(OnnxValue.FromSequence([x])), x]))
            .Should().Throw<ArgumentException>().WithMessage("*Input o is an optional tensor of float32, got: optional holding a sequence*");
        FluentActions.Invoking(() => model.Run(Both[0], x, x)).Should().Throw<ArgumentException>().WithMessage("*Input o is an optional*");
    }

    [Test]
    public void OptionalGetElement_OfAnEmptyOptional_IsAClearError()
    {
        using var s = TensorScope.Begin();
        var m = Model([Info("o", OptType(TensorType(F32, 3)))], [Info("v", TensorType(F32, 3))], N("OptionalGetElement", ["o"], ["v"]));
        using var model = OnnxImporter.FromModel(m);
        FluentActions.Invoking(() => model.Run(Both[0], [OnnxValue.EmptyOptional])).Should().Throw<OnnxImportException>().WithMessage("*OptionalGetElement*optional 'o' is empty*");
        model.Run(Both[0], [OnnxValue.Optional(Tensor.FromArray(new[] { 1f, 2f, 3f }, new Shape(3)))])[0].Tensor.ToDoubleArray().Should().Equal(1, 2, 3);
    }

    [Test]
    public void TensorOnlyRun_OfAModelWithASequenceOutput_PointsToOnnxValues()
    {
        using var s = TensorScope.Begin();
        var m = Model([Info("x", TensorType(F32, 2))], [Info("s", SeqType(TensorType(F32, 2)))], N("SequenceConstruct", ["x", "x"], ["s"]));
        using var model = OnnxImporter.FromModel(m);
        model.OutputKinds.Should().Equal(OnnxValueKind.Sequence);
        var x = Tensor.FromArray(new[] { 1f, 2f }, new Shape(2));
        FluentActions.Invoking(() => model.Run(Both[1], x)).Should().Throw<InvalidOperationException>().WithMessage("*Output s is a sequence*Run(IReadOnlyList<OnnxValue>)*");
        var r = model.Run(Both[1], new OnnxValue[] { x });
        r[0].Elements.Should().HaveCount(2);
        r[0].Elements[1].ToDoubleArray().Should().Equal(1, 2);
        model.GraphCount.Should().Be(1, "a model with only tensor inputs keeps its one static graph");
    }
}
