using DualFramework.IR;
using DualFramework.Onnx;
using DualFramework.Operators;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

/// <summary>Every op lowered to ONNX, run in ONNX Runtime and compared against the eager torch backend.</summary>
[TestFixture]
public class OnnxOpTests
{
    private static readonly Dictionary<string, OpCase> Cases = OnnxOpCases.All.ToDictionary(c => c.Name);

    public static IEnumerable<TestCaseData> Opset17() => OnnxOpCases.All.Select(c => new TestCaseData(c.Name).SetName($"Op_{c.Name}_opset17"));

    public static IEnumerable<TestCaseData> Opset13() =>
        OnnxOpCases.All.Where(c => OnnxExporter.IsSupported(c.Op, 13)).Select(c => new TestCaseData(c.Name).SetName($"Op_{c.Name}_opset13"));

    [Test]
    public void Every_op_has_a_lowering_and_a_test_case()
    {
        var ops = OpRegistry.All.Where(o => o.GetType().Assembly == typeof(OpSet).Assembly).ToList();
        ops.Where(o => !OnnxExporter.IsSupported(o)).Select(o => o.Name).Should().BeEmpty("every op needs an ONNX lowering at opset 17");
        var tested = OnnxOpCases.All.Select(c => c.Op.Name).ToHashSet();
        ops.Select(o => o.Name).Where(n => !tested.Contains(n)).Should().BeEmpty("every op needs an ONNX test case");
        Cases.Count.Should().Be(OnnxOpCases.All.Count, "case names are unique");
    }

    [TestCaseSource(nameof(Opset17))]
    public void Lowered_op_matches_eager(string name) => Check(Cases[name], 17);

    [TestCaseSource(nameof(Opset13))]
    public void Lowered_op_matches_eager_at_opset_13(string name) => Check(Cases[name], 13);

    [Test]
    public void Scatter_add_is_unsupported_below_opset_16_and_supported_from_it()
    {
        using var s = TensorScope.Begin();
        var c = Cases["scatter_add"];
        var g = OrtHarness.OneNode(c.Op, c.Attrs, c.Inputs());
        var act = () => OnnxExporter.ToModel(g, new OnnxExportOptions { Opset = 15 });
        act.Should().Throw<OnnxExportException>().WithMessage("*scatter_add*test.layer*opset 16*");
        OnnxExporter.MinimumOpset(OpSet.ScatterAdd).Should().Be(16);
        Check(c, 16);
    }

    [Test]
    public void Max_pool_asks_ONNX_for_indices_only_when_they_are_read()
    {
        using var s = TensorScope.Begin();
        // Values only (inference): MaxPool with a single output, ONNX Runtime's vectorised kernel.
        var pool = Cases["max_pool2d"];
        var x = pool.Inputs()[0];
        var values = new DualFramework.IR.Graph();
        values.AddOutput(values.AddNode(pool.Op, pool.Attrs, [values.AddInput(x.Spec, "x")], "test.layer")[0]);
        var model = OnnxExporter.ToModel(values);
        model.Graph.Node.Where(n => n.OpType == "MaxPool").Select(n => n.Output.Count).Should().Equal(1);
        // Indices read, tiling windows: found by ArgMax rather than MaxPool's slow Indices output.
        var tiled = Cases["max_pool2d_tiled"];
        var tg = OnnxExporter.ToModel(OrtHarness.OneNode(tiled.Op, tiled.Attrs, tiled.Inputs()));
        tg.Graph.Node.Select(n => n.OpType).Should().Contain("ArgMax");
        tg.Graph.Node.Where(n => n.OpType == "MaxPool").Select(n => n.Output.Count).Should().Equal(1);
        // Indices read, windows not tiling: MaxPool's own indices.
        OnnxExporter.ToModel(OrtHarness.OneNode(pool.Op, pool.Attrs, pool.Inputs())).Graph.Node.Where(n => n.OpType == "MaxPool").Select(n => n.Output.Count).Should().Equal(2);
    }

    [Test]
    public void Layer_norm_decomposes_below_opset_17_and_uses_LayerNormalization_at_17()
    {
        using var s = TensorScope.Begin();
        var c = Cases["layer_norm"];
        var g = OrtHarness.OneNode(c.Op, c.Attrs, c.Inputs());
        OnnxExporter.ToModel(g, new OnnxExportOptions { Opset = 17 }).Graph.Node.Select(n => n.OpType).Should().Contain("LayerNormalization");
        OnnxExporter.ToModel(g, new OnnxExportOptions { Opset = 16 }).Graph.Node.Select(n => n.OpType).Should().NotContain("LayerNormalization");
        Check(c, 16);
    }

    internal static void Check(OpCase c, int opset)
    {
        using var s = TensorScope.Begin();
        var inputs = c.Inputs();
        var constants = c.Constants?.ToHashSet();
        var graph = OrtHarness.OneNode(c.Op, c.Attrs, inputs, constants);
        var model = OnnxExporter.ToBytes(graph, new OnnxExportOptions { Opset = opset });
        var feeds = OrtHarness.Feeds(inputs, constants);
        var got = OrtHarness.Run(model, feeds);
        var specs = graph.Outputs.Select(o => o.Spec).ToArray();
        got.Select(g => g.Spec).Should().Equal(specs, $"{c.Name}: output specs");
        switch (c.Kind)
        {
            case CaseKind.Compare:
                var want = OrtHarness.Eager(c.Op, c.Attrs, inputs);
                want.Length.Should().Be(got.Length);
                for (int i = 0; i < want.Length; i++) OrtHarness.AssertClose(got[i], want[i], c.Rtol, c.Atol, $"{c.Name} output {i}");
                break;
            case CaseKind.Random:
                CheckRandom(c, got[0], model);
                break;
            case CaseKind.Dropout:
                CheckDropout(c, inputs[0], got, model, feeds);
                break;
        }
    }

    private static void CheckRandom(OpCase c, OrtHarness.HostTensor got, byte[] model)
    {
        var v = got.ToDoubles();
        switch (c.Attrs)
        {
            case RandomUniformAttrs u:
                v.Should().OnlyContain(x => x >= u.Low && x <= u.High);
                v.Average().Should().BeApproximately((u.Low + u.High) / 2, (u.High - u.Low) * 0.1);
                break;
            case RandomNormalAttrs n:
                v.Average().Should().BeApproximately(n.Mean, n.Std * 0.2);
                Math.Sqrt(v.Select(x => (x - v.Average()) * (x - v.Average())).Average()).Should().BeApproximately(n.Std, n.Std * 0.2);
                break;
        }
        v.Distinct().Count().Should().BeGreaterThan(v.Length / 4, "values are random");
        // Seed determinism: a fresh session with the same seed gives the same values.
        OrtHarness.Run(model, []).Single().Data.Should().Equal(got.Data);
        // A different seed gives different values.
        OpAttrs other = c.Attrs switch
        {
            RandomUniformAttrs u => u with { Seed = u.Seed + 1 },
            RandomNormalAttrs n => n with { Seed = n.Seed + 1 },
            _ => throw new InvalidOperationException(),
        };
        var g2 = OrtHarness.OneNode(c.Op, other, []);
        OrtHarness.Run(OnnxExporter.ToBytes(g2), []).Single().Data.Should().NotEqual(got.Data);
    }

    private static void CheckDropout(OpCase c, Tensor x, OrtHarness.HostTensor[] got, byte[] model, OrtHarness.HostTensor[] feeds)
    {
        var p = ((DropoutAttrs)c.Attrs).P;
        var xs = x.ToDoubleArray();
        var y = got[0].ToDoubles();
        var mask = got[1].ToDoubles();
        double scale = p >= 1 ? 0 : 1 / (1 - p);
        for (int i = 0; i < xs.Length; i++)
            y[i].Should().BeApproximately(mask[i] != 0 ? (float)(xs[i] * scale) : 0, 1e-5 * (1 + Math.Abs(xs[i] * scale)), $"element {i}");
        double kept = mask.Average();
        if (p == 0) kept.Should().Be(1);
        else if (p == 1) kept.Should().Be(0);
        else kept.Should().BeApproximately(1 - p, 0.05);
        var again = OrtHarness.Run(model, feeds);
        again[1].Data.Should().Equal(got[1].Data, "the same seed gives the same mask in a fresh session");
    }
}

[TestFixture]
public class OnnxRandomSessionTests
{
    /// <summary>Random ops lower to a counter hash of the element index under the seed (docs/onnx-lowering.md), not to ORT's
    /// RandomUniform, whose seeded generator advances per Run: every run of one session gives the same values.</summary>
    [Test]
    public void Seeded_random_op_gives_the_same_values_on_every_run_of_one_session()
    {
        using var s = TensorScope.Begin();
        var g = OrtHarness.OneNode(OpSet.RandomUniform, new RandomUniformAttrs([16], 0, 1, DType.Float32, 3), []);
        var model = OnnxExporter.ToBytes(g);
        System.Text.Encoding.Latin1.GetString(model).Should().NotContain("RandomUniform", "no ONNX random op is emitted");
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(model);
        var first = OrtHarness.Run(session, []).Single().Data;
        OrtHarness.Run(session, []).Single().Data.Should().Equal(first);
        OrtHarness.Run(model, []).Single().Data.Should().Equal(first, "a fresh session gives the same values");
    }
}
