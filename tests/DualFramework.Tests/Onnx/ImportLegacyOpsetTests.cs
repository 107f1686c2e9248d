using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

using static DualFramework.Tests.Onnx.OnnxNodeCases;

/// <summary>Opset 1–6 forms (legacy broadcast, Gemm's broadcast, Cast by type name, Concat's default axis, Split sizes as an
/// input, Tile's scalar count, Reshape's shape attribute, BatchNormalization/Dropout with is_test). ONNX Runtime has no
/// kernels for most of them, so each is compared with ONNX Runtime on the same computation written at opset 13 (same
/// seeded data), on the torch and graph backends.</summary>
[TestFixture]
public class ImportLegacyOpsetTests
{
    private static NodeIn P(string name, params long[] shape) => new(name, shape, Lo: 0.5, Hi: 2);
    private static NodeIn K(string name, params long[] values) => new(name, [values.Length], 7, Init: true, Vals: values);
    private static NodeIn KF(string name, long[] shape, params long[] values) => new(name, shape, 1, Init: true, Vals: values);

    private static readonly (NodeCase Legacy, NodeCase Modern)[] Pairs =
    [
        // Binary ops: B lines up with A's dims from `axis` (suffix by default), or holds one element.
        (C("add_broadcast_axis1", 6, "Add", [F("a", 2, 3, 4), F("b", 3)], AI("broadcast", 1), AI("axis", 1)),
            C("add", 13, "Add", [F("a", 2, 3, 4), F("b", 3, 1)])),
        (C("mul_broadcast_suffix", 6, "Mul", [F("a", 2, 3, 4), F("b", 3, 4)], AI("broadcast", 1)),
            C("mul", 13, "Mul", [F("a", 2, 3, 4), F("b", 3, 4)])),
        (C("sub_broadcast_one_element", 6, "Sub", [F("a", 2, 3), F("b", 1)], AI("broadcast", 1)),
            C("sub", 13, "Sub", [F("a", 2, 3), F("b", 1)])),
        (C("div_broadcast_axis0", 6, "Div", [F("a", 2, 3, 4), P("b", 2)], AI("broadcast", 1), AI("axis", 0)),
            C("div", 13, "Div", [F("a", 2, 3, 4), P("b", 2, 1, 1)])),
        (C("pow_broadcast_opset1", 1, "Pow", [P("a", 2, 3), F("b", 3)], AI("broadcast", 1)),
            C("pow", 13, "Pow", [P("a", 2, 3), F("b", 3)])),
        (C("greater_broadcast_axis1", 1, "Greater", [F("a", 2, 3, 4), F("b", 3)], AI("broadcast", 1), AI("axis", 1)) with { OutType = 9 },
            C("greater", 13, "Greater", [F("a", 2, 3, 4), F("b", 3, 1)]) with { OutType = 9 }),
        (C("add_same_shapes", 6, "Add", [F("a", 2, 3), F("b", 2, 3)]), C("add2", 13, "Add", [F("a", 2, 3), F("b", 2, 3)])),
        (C("gemm_broadcast_c", 6, "Gemm", [F("a", 2, 3), F("b", 3, 4), F("c", 4)], AI("broadcast", 1), AF("beta", 0.5f)),
            C("gemm", 13, "Gemm", [F("a", 2, 3), F("b", 3, 4), F("c", 4)], AF("beta", 0.5f))),
        (C("gemm_full_c", 6, "Gemm", [F("a", 3, 2), F("b", 4, 3), F("c", 2, 4)], AI("transA", 1), AI("transB", 1)),
            C("gemm2", 13, "Gemm", [F("a", 3, 2), F("b", 4, 3), F("c", 2, 4)], AI("transA", 1), AI("transB", 1))),
        // Cast's target as a type name (opsets 1–5).
        (C("cast_to_name", 5, "Cast", [new NodeIn("x", [2, 3], Lo: -5, Hi: 5)], AS("to", "INT32")) with { OutType = 6 },
            C("cast", 13, "Cast", [new NodeIn("x", [2, 3], Lo: -5, Hi: 5)], AI("to", 6)) with { OutType = 6 }),
        // Concat's optional axis, 1 before opset 4.
        (C("concat_default_axis", 3, "Concat", [F("a", 2, 3), F("b", 2, 2)]), C("concat", 13, "Concat", [F("a", 2, 3), F("b", 2, 2)], AI("axis", 1))),
        // Split sizes as a (float) second input at opset 1.
        (C("split_sizes_input", 1, "Split", [F("x", 6, 2), KF("s", [2], 2, 4)]) with { Outs = 2 },
            C("split", 13, "Split", [F("x", 6, 2), K("s", 2, 4)]) with { Outs = 2 }),
        // Tile with one count and one axis (opsets 1–5).
        (C("tile_count_axis", 5, "Tile", [F("x", 2, 3), KF("t", [], 3), KF("ax", [], 1)]),
            C("tile", 13, "Tile", [F("x", 2, 3), K("r", 1, 3)])),
        // Reshape's shape attribute (opsets 1–4), with 0 (copy) and −1 (infer).
        (C("reshape_shape_attr", 4, "Reshape", [F("x", 2, 3, 4)], AInts("shape", 0, -1)),
            C("reshape", 13, "Reshape", [F("x", 2, 3, 4), K("s", 0, -1)])),
        // Inference-mode BatchNormalization and Dropout (is_test, consumed_inputs).
        (C("batchnorm_is_test", 6, "BatchNormalization", [F("x", 2, 3, 2, 2), F("s", 3), F("b", 3), F("m", 3), P("v", 3)], AI("is_test", 1), AF("epsilon", 1e-3f)),
            C("batchnorm", 13, "BatchNormalization", [F("x", 2, 3, 2, 2), F("s", 3), F("b", 3), F("m", 3), P("v", 3)], AF("epsilon", 1e-3f))),
        (C("dropout_is_test", 6, "Dropout", [F("x", 2, 3)], AI("is_test", 1), AF("ratio", 0.3f)), C("dropout", 13, "Dropout", [F("x", 2, 3)])),
    ];

    private static IEnumerable<TestCaseData> PairCases() => Pairs.Select(p => new TestCaseData(p.Legacy, p.Modern).SetName($"Legacy_{p.Legacy.Name}"));

    [TestCaseSource(nameof(PairCases))]
    public void Legacy_form_matches_onnx_runtime_on_the_modern_form(NodeCase legacy, NodeCase modern) =>
        AssertMatchesOnnxRuntime(legacy, modern, 7, Torch, GraphBackend);

    [Test]
    public void Dropout_mask_before_opset_10_has_the_data_type()
    {
        using var s = TensorScope.Begin();
        var (bytes, feeds) = Build(C("dropout_mask", 6, "Dropout", [F("x", 2, 3)], AI("is_test", 1)) with { Outs = 2 }, 1);
        using var model = OnnxImporter.FromBytes(bytes);
        var outs = model.Run(Torch, feeds.Select(f => Tensor.FromBytes(f.Data, f.Spec)).ToArray());
        outs[1].DType.Should().Be(DType.Float32);
        outs[1].ToDoubleArray().Should().AllBeEquivalentTo(1.0);
        outs[0].ToDoubleArray().Should().Equal(Tensor.FromBytes(feeds[0].Data, feeds[0].Spec).ToDoubleArray());
    }

    [Test]
    public void Malformed_legacy_forms_are_rejected_with_the_reason()
    {
        using var s = TensorScope.Begin();
        var cases = new (NodeCase Case, string Message)[]
        {
            (C("add_mismatch_no_broadcast", 6, "Add", [F("a", 2, 3), F("b", 3)]), "differ and broadcast=0"),
            (C("add_bad_axis", 6, "Add", [F("a", 2, 3, 4), F("b", 4)], AI("broadcast", 1), AI("axis", 1)), "must equal the dims of the first"),
            (C("gemm_c_no_broadcast", 6, "Gemm", [F("a", 2, 3), F("b", 3, 4), F("c", 4)]), "broadcast=0"),
            (C("cast_unknown_name", 5, "Cast", [F("x", 2)], AS("to", "FLOAT8")), "unknown target type 'FLOAT8'"),
            (C("erf_opset6", 6, "Erf", [F("x", 2)]), "opset 6 is not supported for this op"),
        };
        foreach (var (c, msg) in cases)
            FluentActions.Invoking(() => OnnxImporter.FromBytes(Build(c, 1).Model)).Should().Throw<OnnxImportException>().WithMessage($"*{msg}*", c.Name);
    }
}
