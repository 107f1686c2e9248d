using System.Diagnostics;
using System.Runtime.CompilerServices;
using DualFramework.IR;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using DualFramework.Operators;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;


[TestFixture]
public class OnnxExporterTests
{
    /// <summary>An op the lowering table does not know.</summary>
    private sealed class DummyOp : Op
    {
        private DummyOp() : base("onnx_test_dummy") { }

        public override bool IsDifferentiable => false;

        public override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, OpAttrs attrs) => [inputs[0]];

        /// <summary>
        /// An instance made without running Op's constructor, so it never enters the global OpRegistry (other tests
        /// require every registered op to have a torch kernel); only its name is set.
        /// </summary>
        public static DummyOp Create()
        {
            var op = (DummyOp)RuntimeHelpers.GetUninitializedObject(typeof(DummyOp));
            typeof(Op).GetField("<Name>k__BackingField", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!.SetValue(op, "onnx_test_dummy");
            return op;
        }
    }

    private static Tensor Rand(int seed, double lo, double hi, params long[] shape)
    {
        var r = new Random(seed);
        var data = new float[new Shape(shape).NumElements];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(lo + (hi - lo) * r.NextDouble());
        return Tensor.FromArray(data, new Shape(shape));
    }

    private static Value Const(Graph g, Tensor t, string name) => g.AddConstant(t.Spec, OrtHarness.Bytes(t), name);

    /// <summary>x [B, 2, 3] → reshape [B, 6] → linear(8) → relu → linear(3) → softmax, weights as initializers.</summary>
    private static (Graph g, Tensor w1, Tensor b1, Tensor w2, Tensor b2) Mlp(long batch)
    {
        Tensor w1 = Rand(1, -0.5, 0.5, 8, 6), b1 = Rand(2, -0.1, 0.1, 8), w2 = Rand(3, -0.5, 0.5, 3, 8), b2 = Rand(4, -0.1, 0.1, 3);
        var g = new Graph();
        var x = g.AddInput(new TensorSpec(new Shape(batch, 2, 3), DType.Float32), "x");
        x.DynamicAxes = [0];
        var h = g.AddNode(OpSet.Reshape, new ShapeAttrs([batch, 6]), [x], "flatten")[0];
        h = g.AddNode(OpSet.Linear, OpAttrs.None, [h, Const(g, w1, "fc1.weight"), Const(g, b1, "fc1.bias")], "fc1")[0];
        h = g.AddNode(OpSet.Relu, OpAttrs.None, [h], "act")[0];
        h = g.AddNode(OpSet.Linear, OpAttrs.None, [h, Const(g, w2, "fc2.weight"), Const(g, b2, "fc2.bias")], "fc2")[0];
        h = g.AddNode(OpSet.Softmax, new SoftmaxAttrs(1), [h], "head")[0];
        g.AddOutput(h);
        return (g, w1, b1, w2, b2);
    }

    private static Tensor MlpEager(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2)
    {
        var h = Ops.Reshape(x, x.Shape[0], 6);
        h = Ops.Relu(Ops.Linear(h, w1, b1));
        return Ops.Softmax(Ops.Linear(h, w2, b2), 1);
    }

    [Test]
    public void Mlp_matches_eager_for_two_batch_sizes_with_a_dynamic_batch_axis()
    {
        using var s = TensorScope.Begin();
        var (g, w1, b1, w2, b2) = Mlp(2);
        var model = OnnxExporter.ToModel(g);
        var input = model.Graph.Input.Single();
        input.Name.Should().Be("x");
        input.Type.TensorType.Shape.Dim[0].DimParam.Should().Be("batch");
        input.Type.TensorType.Shape.Dim[1].DimValue.Should().Be(2);
        model.Graph.Initializer.Select(i => i.Name).Should().Contain(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
        model.Graph.Initializer.Should().OnlyContain(i => !i.RawData.IsEmpty);
        model.Graph.Node.Select(n => n.OpType).Should().Contain("Gemm");

        var bytes = OnnxExporter.ToBytes(g);
        foreach (long batch in new long[] { 2, 5 })
        {
            var x = Rand(10 + (int)batch, -2, 2, batch, 2, 3);
            var got = OrtHarness.Run(bytes, [new OrtHarness.HostTensor(x.Spec, OrtHarness.Bytes(x))]);
            OrtHarness.AssertClose(got.Single(), MlpEager(x, w1, b1, w2, b2), 1e-5, 1e-6, $"batch {batch}");
        }
    }

    [Test]
    public void Model_header_has_opset_producer_and_metadata()
    {
        using var s = TensorScope.Begin();
        var (g, _, _, _, _) = Mlp(2);
        var options = new OnnxExportOptions { Opset = 15, ProducerVersion = "9.9", DocString = "test model", GraphName = "mlp" };
        options.Metadata["author"] = "tests";
        options.Metadata["task"] = "classification";
        var m = OnnxExporter.ToModel(g, options);
        m.IrVersion.Should().Be(8);
        m.OpsetImport.Should().ContainSingle().Which.Version.Should().Be(15);
        m.OpsetImport[0].Domain.Should().BeEmpty();
        m.ProducerName.Should().Be("DualFramework");
        m.ProducerVersion.Should().Be("9.9");
        m.DocString.Should().Be("test model");
        m.Graph.Name.Should().Be("mlp");
        m.MetadataProps.Select(p => (p.Key, p.Value)).Should().Equal(("author", "tests"), ("task", "classification"));
        // Round trip through the wire format.
        var parsed = ModelProto.Parser.ParseFrom(OnnxExporter.ToBytes(g, options));
        parsed.Should().Be(m);
        // Node doc strings carry the layer path.
        m.Graph.Node.Select(n => n.DocString).Should().Contain("fc1");
    }

    [Test]
    public void Save_writes_a_loadable_model()
    {
        using var s = TensorScope.Begin();
        var (g, w1, b1, w2, b2) = Mlp(3);
        var path = Path.Combine(Path.GetTempPath(), $"df_onnx_{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExporter.Save(g, path);
            var x = Rand(20, -2, 2, 3, 2, 3);
            var got = OrtHarness.Run(File.ReadAllBytes(path), [new OrtHarness.HostTensor(x.Spec, OrtHarness.Bytes(x))]);
            OrtHarness.AssertClose(got.Single(), MlpEager(x, w1, b1, w2, b2), 1e-5, 1e-6, "saved model");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Unsupported_ops_are_all_listed_with_layer_paths()
    {
        using var s = TensorScope.Begin();
        var dummy = DummyOp.Create();
        var g = new Graph();
        var x = g.AddInput(new TensorSpec(new Shape(2, 3), DType.Float32), "x");
        var a = g.AddNode(dummy, OpAttrs.None, [x], "block1.custom")[0];
        var b = g.AddNode(OpSet.Relu, OpAttrs.None, [a], "block1.act")[0];
        var c = g.AddNode(dummy, OpAttrs.None, [b], "block2.custom")[0];
        var idx = g.AddInput(new TensorSpec(new Shape(2, 3), DType.Int64), "idx");
        var d = g.AddNode(OpSet.ScatterAdd, new IndexAxisAttrs(1), [c, idx, c], "block3.scatter")[0];
        g.AddOutput(d);

        var act = () => OnnxExporter.ToModel(g, new OnnxExportOptions { Opset = 13 });
        var e = act.Should().Throw<OnnxExportException>().Which;
        e.Unsupported.Should().HaveCount(3);
        e.Unsupported.Select(u => u.LayerPath).Should().Equal("block1.custom", "block2.custom", "block3.scatter");
        e.UnsupportedOpNames.Should().Equal("onnx_test_dummy", "scatter_add");
        e.Message.Should().Contain("onnx_test_dummy").And.Contain("block2.custom").And.Contain("scatter_add").And.Contain("opset 16");
        OnnxExporter.IsSupported(dummy).Should().BeFalse();
        OnnxExporter.MinimumOpset(dummy).Should().BeNull();

        // At opset 17 scatter_add lowers; only the dummy op is left.
        var e17 = ((Action)(() => OnnxExporter.ToModel(g))).Should().Throw<OnnxExportException>().Which;
        e17.UnsupportedOpNames.Should().Equal("onnx_test_dummy");
        e17.Unsupported.Should().HaveCount(2);
    }

    [Test]
    public void Opsets_outside_13_to_17_are_rejected()
    {
        using var s = TensorScope.Begin();
        var (g, _, _, _, _) = Mlp(2);
        ((Action)(() => OnnxExporter.ToModel(g, new OnnxExportOptions { Opset = 12 }))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*13*17*");
        ((Action)(() => OnnxExporter.ToModel(g, new OnnxExportOptions { Opset = 18 }))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Test]
    public void Outputs_that_are_inputs_constants_or_repeated_get_their_own_names()
    {
        using var s = TensorScope.Begin();
        var g = new Graph();
        var x = g.AddInput(new TensorSpec(new Shape(2), DType.Float32), "x");
        var k = Const(g, Tensor.FromArray(new float[] { 1, 2 }), "k");
        var y = g.AddNode(OpSet.Add, OpAttrs.None, [x, k])[0];
        g.AddOutput(x);
        g.AddOutput(k);
        g.AddOutput(y);
        g.AddOutput(y);
        var m = OnnxExporter.ToModel(g);
        m.Graph.Output.Select(o => o.Name).Should().OnlyHaveUniqueItems();
        var got = OrtHarness.Run(OnnxExporter.ToBytes(g), [new OrtHarness.HostTensor(x.Spec, OrtHarness.Bytes(Tensor.FromArray(new float[] { 3, 4 })))]);
        got.Select(t => t.ToDoubles()).Should().BeEquivalentTo(new[] { new double[] { 3, 4 }, [1, 2], [4, 6], [4, 6] }, o => o.WithStrictOrdering());
    }

    [Test]
    public void Broadcast_and_max_pool_indices_follow_a_dynamic_batch()
    {
        using var s = TensorScope.Begin();
        var g = new Graph();
        var x = g.AddInput(new TensorSpec(new Shape(2, 3, 4, 4), DType.Float32), "x");
        x.DynamicAxes = [0];
        var pooled = g.AddNode(OpSet.MaxPool2d, new MaxPool2dAttrs([2, 2], [2, 2], [0, 0], [1, 1], false), [x]);
        var wide = g.AddNode(OpSet.BroadcastTo, new ShapeAttrs([2, 3, 2, 2]), [pooled[0]])[0];
        g.AddOutput(wide);
        g.AddOutput(pooled[1]);
        var bytes = OnnxExporter.ToBytes(g);
        var input = Rand(30, -2, 2, 5, 3, 4, 4);
        var got = OrtHarness.Run(bytes, [new OrtHarness.HostTensor(input.Spec, OrtHarness.Bytes(input))]);
        var want = Dispatcher.ApplyMulti(OpSet.MaxPool2d, new MaxPool2dAttrs([2, 2], [2, 2], [0, 0], [1, 1], false), input);
        OrtHarness.AssertClose(got[0], want[0], 1e-6, 0, "values");
        OrtHarness.AssertClose(got[1], want[1], 0, 0, "indices");
    }

    /// <summary>onnx.checker with full_check (strict shape inference) over the MLP and every per-op model at opsets 13 and 17.</summary>
    [Test]
    public void Models_pass_the_onnx_checker()
    {
        OnnxChecker.SkipWhenUnavailable();
        using var s = TensorScope.Begin();
        var dir = Directory.CreateTempSubdirectory("df_onnx_check_");
        try
        {
            OnnxExporter.Save(Mlp(2).g, Path.Combine(dir.FullName, "mlp.onnx"));
            foreach (var c in OnnxOpCases.All)
                foreach (int opset in new[] { 13, 17 })
                {
                    if (!OnnxExporter.IsSupported(c.Op, opset)) continue;
                    var g = OrtHarness.OneNode(c.Op, c.Attrs, c.Inputs(), c.Constants?.ToHashSet());
                    OnnxExporter.Save(g, Path.Combine(dir.FullName, $"{c.Name}_{opset}.onnx"), new OnnxExportOptions { Opset = opset });
                }
            int written = dir.GetFiles("*.onnx").Length;
            written.Should().BeGreaterThan(2 * OnnxOpCases.All.Count - 5);
            OnnxChecker.CheckDirectory(dir.FullName);
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
