using DualFramework.Backends;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using FluentAssertions;
using NUnit.Framework;
using Runner = DualFramework.Onnx.Conformance;

namespace DualFramework.Tests.Onnx;

/// <summary>If / Loop / Scan imported by tracing their bodies (branch chosen or selected with where, loops unrolled, one graph
/// per specialised trip count or condition), sequence ops inside a model (importer-side lists), the ai.onnx.preview.training
/// optimizer ops, and the ONNX node tests of these.</summary>
[TestFixture]
public class ImportControlFlowTests
{
    private static readonly IComputeBackend[] Both = [BackendRegistry.Get("torch"), BackendRegistry.Get("graph")];
    private static IComputeBackend Torch => Both[0];

    private const int F32 = 1, I64 = 7, Bool = 9;

    private static readonly string[] NodeTests =
    [
        "test_adagrad", "test_adagrad_multiple", "test_adam", "test_momentum", "test_momentum_multiple", "test_nesterov_momentum",
        "test_if", "test_loop11", "test_scan_sum", "test_scan9_sum",
        "test_range_float_type_positive_delta_expanded", "test_range_int32_type_negative_delta_expanded",
    ];

    private static ValueInfoProto Info(string name, int elemType, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } } };
    }

    private static GraphProto Body(ValueInfoProto[] inputs, ValueInfoProto[] outputs, params NodeProto[] nodes)
    {
        var g = new GraphProto { Name = "body" };
        g.Input.AddRange(inputs);
        g.Output.AddRange(outputs);
        g.Node.AddRange(nodes);
        return g;
    }

    private static AttributeProto AG(string name, GraphProto g) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Graph, G = g };

    private static ModelProto Model(ValueInfoProto[] inputs, ValueInfoProto[] outputs, int opset, params NodeProto[] nodes)
    {
        var g = Body(inputs, outputs, nodes);
        var m = new ModelProto { IrVersion = 8, Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return m;
    }

    /// <summary>A node named after its first output (shared with the other import tests that build models by hand).</summary>
    internal static NodeProto N(string op, string[] ins, string[] outs, params AttributeProto[] attrs)
    {
        var n = new NodeProto { OpType = op, Name = outs[0] };
        n.Input.AddRange(ins);
        n.Output.AddRange(outs);
        n.Attribute.AddRange(attrs);
        return n;
    }

    private static NodeProto ConstF(string name, float v) =>
        N("Constant", [], [name], new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = new TensorProto { DataType = F32, FloatData = { v } } });

    private const string Suite = "/usr/share/libonnx-testdata/data/node";

    private static IEnumerable<TestCaseData> NodeTestCases() =>
        from backend in new[] { "torch", "graph" } from name in NodeTests select new TestCaseData(backend, name).SetName($"{{m}}({backend}, {name})");

    [TestCaseSource(nameof(NodeTestCases))]
    public void Onnx_node_test_passes(string backendName, string caseName)
    {
        if (!Directory.Exists(Suite)) Assert.Ignore("libonnx-testdata is not installed (scripts/install-system-deps.sh --tests).");
        var result = Runner.ConformanceRunner.RunCase(Path.Combine(Suite, caseName), BackendRegistry.Get(backendName));
        result.Should().Be(new Runner.CaseResult(caseName, Runner.CaseOutcome.Passed, null), because: result.Reason);
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void Adam_multiple_node_test_is_unsupported(string backendName)
    {
        if (!Directory.Exists(Suite)) Assert.Ignore("libonnx-testdata is not installed (scripts/install-system-deps.sh --tests).");
        // Its expected data uses epsilon 1e-2, its model the schema's default: excluded by name, not run.
        var adam = Runner.ConformanceRunner.RunCase(Path.Combine(Suite, "test_adam_multiple"), BackendRegistry.Get(backendName));
        adam.Outcome.Should().Be(Runner.CaseOutcome.Unsupported);
        adam.Reason.Should().StartWith("excluded: ").And.Contain("epsilon");
    }

    // y' = 2y + 1 for trip_count iterations; the scan output stacks every y'.
    private static ModelProto LoopModel() => Model(
        [Info("n", I64), Info("y", F32, 1)], [Info("y_final", F32, 1), Info("ys", F32)], 13,
        N("Constant", [], ["t"], new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = new TensorProto { DataType = Bool, Int32Data = { 1 } } }),
        N("Loop", ["n", "t", "y"], ["y_final", "ys"], AG("body", Body(
            [Info("i", I64), Info("c", Bool), Info("y_in", F32, 1)], [Info("c_out", Bool), Info("y_out", F32, 1), Info("scan", F32, 1)],
            ConstF("two", 2), ConstF("one", 1),
            N("Identity", ["c"], ["c_out"]),
            N("Mul", ["y_in", "two"], ["twice"]),
            N("Add", ["twice", "one"], ["y_out"]),
            N("Identity", ["y_out"], ["scan"])))));

    [Test]
    public void Loop_TripCountInput_BuildsOneGraphPerTripCount()
    {
        using var s = TensorScope.Begin();
        using var model = OnnxImporter.FromModel(LoopModel());
        model.ShapeInputNames.Should().Equal("n");
        foreach (var b in Both)
        {
            var r3 = model.Run(b, Tensor.FromArray([3L], Shape.Scalar), Tensor.FromArray([1f]));
            r3[0].ToDoubleArray().Should().Equal(15); // 1 → 3 → 7 → 15
            r3[1].Shape.Should().Be(new Shape(3, 1));
            r3[1].ToDoubleArray().Should().Equal(3, 7, 15);
            var r2 = model.Run(b, Tensor.FromArray([2L], Shape.Scalar), Tensor.FromArray([0.5f]));
            r2[0].ToDoubleArray().Should().Equal(5); // 0.5 → 2 → 5
            r2[1].ToDoubleArray().Should().Equal(2, 5);
        }
        model.GraphCount.Should().Be(2, "one unrolled graph per trip count, shared by the backends");
    }

    [Test]
    public void Loop_ConditionFromRunTimeData_IsNotSupported()
    {
        // The body's condition is sum(y_out) < 100, computed from the carried (run-time) value: not unrollable at build time.
        var model = LoopModel();
        var body = model.Graph.Node[1].Attribute[0].G;
        body.Node.RemoveAt(2); // Identity(c)
        body.Node.Add(ConstF("hundred", 100));
        body.Node.Add(N("ReduceSum", ["y_out"], ["total"], OnnxNodeCases.AI("keepdims", 0)));
        body.Node.Add(N("Less", ["total", "hundred"], ["c_out"]));
        model.Graph.Input[1] = Info("y", F32, 70000); // too large to fold: a true run-time value
        body.Input[2] = Info("y_in", F32, 70000);
        FluentActions.Invoking(() => OnnxImporter.FromModel(model).Run(Torch, Tensor.FromArray([3L], Shape.Scalar), Tensor.FromArray(new float[70000])))
            .Should().Throw<OnnxImportException>().WithMessage("*Loop node 'y_final'*condition computed from run-time data is not supported*");
    }

    // cond ? x + 1 : x · 10, with x from the outer scope.
    private static ModelProto IfModel(string condName, params NodeProto[] condNodes) => Model(
        [Info("c", Bool), Info("x", F32, 3)], [Info("y", F32, 3)], 13,
        condNodes.Append(N("If", [condName], ["y"],
            AG("then_branch", Body([], [Info("a", F32, 3)], ConstF("one", 1), N("Add", ["x", "one"], ["a"]))),
            AG("else_branch", Body([], [Info("m", F32, 3)], ConstF("ten", 10), N("Mul", ["x", "ten"], ["m"]))))).ToArray());

    [Test]
    public void If_ConditionInput_PicksEachBranch()
    {
        using var s = TensorScope.Begin();
        using var model = OnnxImporter.FromModel(IfModel("c"));
        model.ShapeInputNames.Should().Equal("c");
        var x = Tensor.FromArray([1f, -2f, 3f]);
        foreach (var b in Both)
        {
            model.Run(b, Tensor.FromArray([true], Shape.Scalar), x)[0].ToDoubleArray().Should().Equal(2, -1, 4);
            model.Run(b, Tensor.FromArray([false], Shape.Scalar), x)[0].ToDoubleArray().Should().Equal(10, -20, 30);
        }
        model.GraphFor(Tensor.FromArray([true], Shape.Scalar), x).Nodes.Select(n => n.Op.Name).Should().Equal("add");
        model.GraphFor(Tensor.FromArray([false], Shape.Scalar), x).Nodes.Select(n => n.Op.Name).Should().Equal("mul");
        model.GraphCount.Should().Be(2);
    }

    [Test]
    public void If_ConditionFromData_SelectsWithWhere()
    {
        using var s = TensorScope.Begin();
        // cond = ReduceSum(x) > 0: computed from data, so both branches are built and where selects.
        using var model = OnnxImporter.FromModel(IfModel("pos", ConstF("zero", 0),
            N("ReduceSum", ["x"], ["sum"], OnnxNodeCases.AI("keepdims", 0)), N("Greater", ["sum", "zero"], ["pos"])));
        model.ShapeInputNames.Should().BeEmpty();
        model.Graph.Nodes.Select(n => n.Op.Name).Should().Contain("where");
        foreach (var b in Both)
        {
            model.Run(b, Tensor.FromArray([true], Shape.Scalar), Tensor.FromArray([1f, -2f, 3f]))[0].ToDoubleArray().Should().Equal(2, -1, 4);
            model.Run(b, Tensor.FromArray([true], Shape.Scalar), Tensor.FromArray([1f, -5f, 3f]))[0].ToDoubleArray().Should().Equal(10, -50, 30);
        }
    }

    [Test]
    public void Scan_ReverseInput_OutputOnAxis1_MatchesALoop()
    {
        using var s = TensorScope.Begin();
        // Running sum over x [4, 2] read backwards along axis 0; the scan output stacked on axis 1 → [2, 4].
        var model = Model([Info("init", F32, 2), Info("x", F32, 4, 2)], [Info("sum", F32, 2), Info("all", F32, 2, 4)], 16,
            N("Scan", ["init", "x"], ["sum", "all"], OnnxNodeCases.AI("num_scan_inputs", 1), OnnxNodeCases.AInts("scan_input_directions", 1), OnnxNodeCases.AInts("scan_output_axes", 1),
                AG("body", Body([Info("s_in", F32, 2), Info("row", F32, 2)], [Info("s_out", F32, 2), Info("out", F32, 2)],
                    N("Add", ["s_in", "row"], ["s_out"]), N("Identity", ["s_out"], ["out"])))));
        using var imported = OnnxImporter.FromModel(model);
        var rng = new Random(7);
        var x = Enumerable.Range(0, 8).Select(_ => (float)rng.NextDouble()).ToArray();
        double[] acc = [0.5, -1];
        var expectAll = new double[8];
        for (int t = 0; t < 4; t++)
        {
            int row = 3 - t;
            for (int j = 0; j < 2; j++)
            {
                acc[j] += x[row * 2 + j];
                expectAll[j * 4 + t] = acc[j];
            }
        }
        foreach (var b in Both)
        {
            var r = imported.Run(b, Tensor.FromArray([0.5f, -1f]), Tensor.FromArray(x, new Shape(4, 2)));
            r[0].ToDoubleArray().Should().BeEquivalentTo(acc, o => o.Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-5)).WhenTypeIs<double>());
            r[1].Shape.Should().Be(new Shape(2, 4));
            r[1].ToDoubleArray().Should().BeEquivalentTo(expectAll, o => o.WithStrictOrdering().Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-5)).WhenTypeIs<double>());
        }
    }

    // Without the attribute, epsilon is the schema's default 1e-6 (element 1's small H makes the two differ by ~7e-4).
    [TestCase(true)]
    [TestCase(false)]
    public void Adam_AfterTheFirstStep_MatchesTheSchemaFormulaInFloat64(bool explicitEpsilon)
    {
        using var s = TensorScope.Begin();
        const double lr = 0.05, alpha = 0.8, beta = 0.9, norm = 0.01, post = 0.02;
        double eps = explicitEpsilon ? 1e-3 : 1e-6;
        const long t = 3;
        var node = N("Adam", ["R", "T", "X", "G", "V", "H"], ["Xn", "Vn", "Hn"], OnnxNodeCases.AF("alpha", (float)alpha), OnnxNodeCases.AF("beta", (float)beta),
            OnnxNodeCases.AF("norm_coefficient", (float)norm), OnnxNodeCases.AF("norm_coefficient_post", (float)post));
        if (explicitEpsilon) node.Attribute.Add(OnnxNodeCases.AF("epsilon", (float)eps));
        node.Domain = "ai.onnx.preview.training";
        var model = Model([Info("R", F32), Info("T", I64), Info("X", F32, 3), Info("G", F32, 3), Info("V", F32, 3), Info("H", F32, 3)],
            [Info("Xn", F32, 3), Info("Vn", F32, 3), Info("Hn", F32, 3)], 17, node);
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "ai.onnx.preview.training", Version = 1 });
        using var imported = OnnxImporter.FromModel(model);
        float[] x = [1f, -2f, 0.5f], g = [0.3f, -0.1f, 2f], v = [0.1f, 0.2f, -0.3f], h = [0.5f, 0.01f, 1f];
        var ex = new double[3];
        var ev = new double[3];
        var eh = new double[3];
        // Float64 reference of the schema's pseudo code, with the attributes as the float32 values the model stores.
        double A = (float)alpha, B = (float)beta, E = (float)eps, Nc = (float)norm, P = (float)post, R = (float)lr;
        double rAdj = R * Math.Sqrt(1 - Math.Pow(B, t)) / (1 - Math.Pow(A, t));
        for (int i = 0; i < 3; i++)
        {
            double gr = Nc * x[i] + g[i];
            ev[i] = A * v[i] + (1 - A) * gr;
            eh[i] = B * h[i] + (1 - B) * gr * gr;
            ex[i] = (1 - P) * (x[i] - rAdj * ev[i] / (Math.Sqrt(eh[i]) + E));
        }
        foreach (var b in Both)
        {
            var r = imported.Run(b, Tensor.FromArray([(float)lr], Shape.Scalar), Tensor.FromArray([t], Shape.Scalar),
                Tensor.FromArray(x), Tensor.FromArray(g), Tensor.FromArray(v), Tensor.FromArray(h));
            foreach (var (actual, expected) in new[] { (r[0], ex), (r[1], ev), (r[2], eh) })
            {
                var a = actual.ToDoubleArray();
                for (int i = 0; i < 3; i++) a[i].Should().BeApproximately(expected[i], 1e-5 * (1 + Math.Abs(expected[i])));
            }
        }
    }

    private static ModelProto SequenceModel()
    {
        var m = Model([Info("x", F32, 6, 2), Info("p", I64)], [Info("y", F32, 7, 2), Info("n", I64), Info("z", F32, 2, 6), Info("w", F32)], 13,
            N("SequenceEmpty", [], ["e"]),
            N("SplitToSequence", ["x", "sizes"], ["s"]),
            N("SequenceAt", ["s", "minus1"], ["last"]),
            N("SequenceErase", ["s", "one"], ["s2"]),
            N("SequenceInsert", ["s2", "last", "zero"], ["s3"]),
            N("Identity", ["s3"], ["s3b"]),
            N("ConcatFromSequence", ["s3b"], ["y"], OnnxNodeCases.AI("axis", 0)),
            N("SequenceLength", ["s3"], ["n"]),
            N("SplitToSequence", ["x"], ["cols"], OnnxNodeCases.AI("axis", 1), OnnxNodeCases.AI("keepdims", 0)),
            N("ConcatFromSequence", ["cols"], ["z"], OnnxNodeCases.AI("axis", 0), OnnxNodeCases.AI("new_axis", 1)),
            N("SequenceAt", ["s", "p"], ["w"]));
        m.Graph.Initializer.Add(new TensorProto { Name = "sizes", DataType = I64, Dims = { 3 }, Int64Data = { 1, 2, 3 } });
        foreach (var (name, v) in new[] { ("minus1", -1L), ("one", 1L), ("zero", 0L) })
            m.Graph.Initializer.Add(new TensorProto { Name = name, DataType = I64, Int64Data = { v } });
        return m;
    }

    [Test]
    public void Sequences_InsideAModel_AreListsOfGraphValues()
    {
        using var s = TensorScope.Begin();
        using var model = OnnxImporter.FromModel(SequenceModel());
        model.ShapeInputNames.Should().Equal("p");
        var x = Enumerable.Range(0, 12).Select(i => (float)i).ToArray();
        // Pieces of rows [0], [1, 2], [3, 4, 5]; erase the middle one, insert the last at the front: rows 3,4,5,0,3,4,5.
        var y = new[] { 3, 4, 5, 0, 3, 4, 5 }.SelectMany(r => new double[] { x[2 * r], x[2 * r + 1] }).ToArray();
        var z = new double[12];
        for (int c = 0; c < 2; c++)
            for (int r = 0; r < 6; r++) z[c * 6 + r] = x[2 * r + c]; // the columns stacked on a new axis 0: x transposed
        foreach (var b in Both)
        {
            var r = model.Run(b, Tensor.FromArray(x, new Shape(6, 2)), Tensor.FromArray([1L], Shape.Scalar));
            r[0].Shape.Should().Be(new Shape(7, 2));
            r[0].ToDoubleArray().Should().Equal(y);
            r[1].ToDoubleArray().Should().Equal(3);
            r[2].Shape.Should().Be(new Shape(2, 6));
            r[2].ToDoubleArray().Should().Equal(z);
            r[3].Shape.Should().Be(new Shape(2, 2), "SequenceAt(s, 1) is the piece of rows 1 and 2");
            r[3].ToDoubleArray().Should().Equal(2, 3, 4, 5);
            var first = model.Run(b, Tensor.FromArray(x, new Shape(6, 2)), Tensor.FromArray([-3L], Shape.Scalar))[3];
            first.Shape.Should().Be(new Shape(1, 2));
            first.ToDoubleArray().Should().Equal(0, 1);
        }
        model.GraphCount.Should().Be(2, "one graph per position value");
    }

    [Test]
    public void Sequence_OutputDeclaredAsATensor_IsRejected()
    {
        var m = SequenceModel();
        m.Graph.Output[0] = Info("s3", F32, 7, 2);
        FluentActions.Invoking(() => OnnxImporter.FromModel(m).Run(Torch, Tensor.FromArray(new float[12], new Shape(6, 2)), Tensor.FromArray([0L], Shape.Scalar)))
            .Should().Throw<OnnxImportException>().WithMessage("*Output 's3' is declared a tensor, but the model computes a sequence*");
        m = SequenceModel();
        m.Graph.Node[2].Input[1] = "big"; // a position far outside the sequence
        m.Graph.Initializer.Add(new TensorProto { Name = "big", DataType = I64, Int64Data = { 3 } });
        FluentActions.Invoking(() => OnnxImporter.FromModel(m)).Should().Throw<OnnxImportException>().WithMessage("*SequenceAt*position 3 is out of range for a sequence of 3*");
    }
}
