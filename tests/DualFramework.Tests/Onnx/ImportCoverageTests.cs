using DualFramework.Backends;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

using static DualFramework.Tests.Onnx.OnnxNodeCases;

/// <summary>The importer mappings of issue #19's second batch (TopK, Einsum, OneHot, GatherND, ScatterND mul, Det,
/// ReverseSequence, Shrink, MeanVarianceNormalization, LRN, Upsample, integer Div): one-node models in forms the ONNX node
/// tests leave out, checked against ONNX Runtime on the torch and graph backends; and those node tests themselves.</summary>
[TestFixture]
public class ImportCoverageTests
{
    private static readonly IComputeBackend Torch = BackendRegistry.Get("torch");
    private static readonly IComputeBackend GraphBackend = BackendRegistry.Get("graph");

    private static NodeIn F(string name, params long[] shape) => new(name, shape);
    private static NodeIn Ix(string name, long[] shape, params long[] values) => new(name, shape, 7, Init: true, Vals: values);
    private static NodeIn Fk(string name, long[] shape, params double[] values) => new(name, shape, Init: true, FVals: values);
    private static NodeCase C(string name, int opset, string op, NodeIn[] ins, params AttributeProto[] attrs) => new(name, opset, op, ins, attrs);
    private static NodeCase CT(string name, int opset, string op, int outType, NodeIn[] ins, params AttributeProto[] attrs) => new(name, opset, op, ins, attrs, outType);

    private static readonly NodeCase[] OpCases =
    [
        new("topk_axis0_smallest_unsorted_values", 11, "TopK", [F("x", 4, 3), Ix("k", [1], 2)], [AI("axis", 0), AI("largest", 0)], Outs: 2) { OutTypes = [1, 7] },
        new("topk_opset1_k_attribute", 1, "TopK", [F("x", 2, 5)], [AI("k", 3)], Outs: 2) { OutTypes = [1, 7] },
        new("topk_int32", 11, "TopK", [new NodeIn("x", [3, 4], 6, Lo: -1000, Hi: 1000), Ix("k", [1], 3)], [], Outs: 2) { OutTypes = [6, 7] },
        C("einsum_implicit_output", 12, "Einsum", [F("a", 3, 4), F("b", 4, 2)], AS("equation", "ij,jk")),
        C("einsum_three_operands", 12, "Einsum", [F("a", 2, 3), F("b", 3, 4), F("c", 4)], AS("equation", "ij,jk,k->i")),
        C("einsum_ellipsis", 12, "Einsum", [F("a", 2, 4, 3), F("b", 2, 4, 3)], AS("equation", "...i,...i->...")),
        C("onehot_out_of_range_rows_are_off", 11, "OneHot", [Ix("i", [2, 3], 0, 5, -1, -5, 2, 9), Fk("d", [], 4), Fk("v", [2], -1, 3)], AI("axis", 0)),
        CT("onehot_int64_values", 11, "OneHot", 7, [new NodeIn("i", [4], 7, Lo: -3, Hi: 3), Ix("d", [1], 3), Ix("v", [2], 2, 7)]),
        C("gathernd_batch_dims_2", 13, "GatherND", [F("d", 2, 3, 4, 5), Ix("i", [2, 3, 2, 1], 0, -1, 3, 2, 1, 1, 0, 2, 3, 3, -4, 1)], AI("batch_dims", 2)),
        C("gathernd_full_tuples", 12, "GatherND", [F("d", 3, 4), Ix("i", [2, 2, 2], 0, 1, 2, 3, -1, 0, 1, -2)]),
        C("scatternd_mul_repeated_rows", 16, "ScatterND", [F("d", 3, 2), Ix("i", [3, 1], 1, 1, 2), F("u", 3, 2)], AS("reduction", "mul")),
        C("scatternd_mul_elements", 16, "ScatterND", [F("d", 2, 3), Ix("i", [3, 2], 0, 0, 1, 2, 0, 0), F("u", 3)], AS("reduction", "mul")),
        C("det_batched_4x4", 13, "Det", [F("x", 2, 2, 4, 4)]),
        C("reversesequence_rank3_batch_first", 10, "ReverseSequence", [F("x", 3, 4, 2), Ix("l", [3], 4, 1, 2)], AI("batch_axis", 0), AI("time_axis", 1)),
        C("shrink_defaults", 9, "Shrink", [F("x", 3, 4)]),
        C("mvn_axes_2_3", 13, "MeanVarianceNormalization", [F("x", 2, 3, 4, 5)], AInts("axes", 2, 3)),
        C("lrn_size_5", 13, "LRN", [F("x", 2, 6, 3, 2)], AI("size", 5), AF("alpha", 0.01f), AF("beta", 0.6f), AF("bias", 1.5f)),
        C("upsample_linear_opset9", 9, "Upsample", [F("x", 1, 1, 2, 3), Fk("s", [4], 1, 1, 2, 1.5)], AS("mode", "linear")),
        C("upsample_opset7_attribute", 7, "Upsample", [F("x", 1, 2, 2, 2)], AFs("scales", 1, 1, 3, 2)),
        CT("div_int32_truncates_toward_zero", 13, "Div", 6, [Ix32("a", [6], 7, -7, 7, -7, 100, -1), Ix32("b", [6], 2, 2, -2, -2, 7, 3)]),
    ];

    private static NodeIn Ix32(string name, long[] shape, params long[] values) => new(name, shape, 6, Init: true, Vals: values);

    private static AttributeProto AFs(string name, params float[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
        a.Floats.AddRange(v);
        return a;
    }

    private static IEnumerable<NodeCase> Cases() => OpCases;

    [TestCaseSource(nameof(Cases))]
    public void Op_matches_onnx_runtime(NodeCase c) => AssertMatchesOnnxRuntime(c, 2000, Torch, GraphBackend);

    [Test]
    public void Unsupported_forms_are_reported_as_not_supported()
    {
        using var s = TensorScope.Begin();
        var cases = new (NodeCase Case, string Message)[]
        {
            (CT("div_int64", 13, "Div", 7, [new NodeIn("a", [3], 7), new NodeIn("b", [3], 7, Lo: 1, Hi: 5)]), "int64 inputs are not supported"),
            (C("einsum_bad_equation", 12, "Einsum", [F("a", 2, 3)], AS("equation", "ij,jk->ik")), "2 input terms for 1 operands"),
            (C("upsample_downscale", 9, "Upsample", [F("x", 1, 1, 4, 4), Fk("s", [4], 1, 1, 0.5, 0.5)]), "scales below 1 are not supported"),
            (C("reversesequence_axis2", 10, "ReverseSequence", [F("x", 2, 3, 4), Ix("l", [2], 1, 2)], AI("batch_axis", 0), AI("time_axis", 2)),
                "must be 0 and 1 in some order"),
        };
        foreach (var (c, msg) in cases)
            FluentActions.Invoking(() => OnnxImporter.FromBytes(OnnxNodeCases.Build(c, 1).Model)).Should().Throw<OnnxImportException>().WithMessage($"*{msg}*", c.Name);
    }

    private static readonly string[] NodeTests =
    [
        "test_top_k", "test_top_k_negative_axis", "test_top_k_smallest",
        "test_einsum_batch_diagonal", "test_einsum_batch_matmul", "test_einsum_inner_prod", "test_einsum_sum", "test_einsum_transpose",
        "test_onehot_negative_indices", "test_onehot_with_axis", "test_onehot_with_negative_axis", "test_onehot_without_axis",
        "test_gathernd_example_float32", "test_gathernd_example_int32", "test_gathernd_example_int32_batch_dim1",
        "test_scatternd_multiply", "test_det_2d", "test_det_nd", "test_reversesequence_batch", "test_reversesequence_time",
        "test_shrink_hard", "test_shrink_soft", "test_mvn", "test_lrn", "test_lrn_default", "test_upsample_nearest", "test_div_uint8",
    ];

    [TestCase("torch")]
    [TestCase("graph")]
    public void Onnx_node_tests_pass(string backendName) => AssertNodeTestsPass(backendName, NodeTests);
}
