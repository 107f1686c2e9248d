using DualFramework.Backends;
using DualFramework.Onnx.Proto;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

using static DualFramework.Tests.Onnx.OnnxNodeCases;

/// <summary>One-node ONNX models of the mappings added for the conformance target — auto_pad SAME_*, explicit (asymmetric or
/// large) pads, 1-D pooling, MaxPool indices, BatchNormalization training mode, NumPy 1-D MatMul, select_last_index, Hardmax,
/// Trilu, Tile, depth/space rearrangement, negative Slice steps, integer Pow, legacy opsets — checked against ONNX Runtime on
/// the torch and graph backends.</summary>
[TestFixture]
public class ImportGapTests
{
    private static readonly IComputeBackend Torch = BackendRegistry.Get("torch");
    private static readonly IComputeBackend GraphBackend = BackendRegistry.Get("graph");

    private static NodeIn F(string name, params long[] shape) => new(name, shape);
    private static NodeIn W(string name, params long[] shape) => new(name, shape, Init: true);
    private static NodeIn I(string name, params long[] shape) => new(name, shape, 7, Lo: -3, Hi: 4);
    private static NodeIn K(string name, params long[] values) => new(name, [values.Length], 7, Init: true, Vals: values);
    private static NodeIn KS(string name, long value) => new(name, [], 7, Init: true, Vals: [value]);
    private static NodeIn Whole(string name, long[] shape, params long[] values) => new(name, shape, Vals: values);

    private static NodeCase C(string name, int opset, string op, NodeIn[] ins, params AttributeProto[] attrs) => new(name, opset, op, ins, attrs);
    private static NodeCase CT(string name, int opset, string op, int outType, NodeIn[] ins, params AttributeProto[] attrs) => new(name, opset, op, ins, attrs, outType);

    private static readonly NodeCase[] OpCases =
    [
        // Padding: auto_pad SAME_UPPER / SAME_LOWER and pads our ops cannot take directly.
        C("conv_same_upper_stride2", 13, "Conv", [F("x", 1, 2, 6, 5), W("w", 3, 2, 3, 3)], AS("auto_pad", "SAME_UPPER"), AInts("strides", 2, 2)),
        C("conv_same_lower_stride2", 13, "Conv", [F("x", 1, 2, 6, 5), W("w", 3, 2, 3, 3), W("b", 3)], AS("auto_pad", "SAME_LOWER"), AInts("strides", 2, 2)),
        C("conv_asymmetric_pads_stride2", 13, "Conv", [F("x", 1, 2, 9, 9), W("w", 3, 2, 3, 3)], AInts("strides", 2, 2), AInts("pads", 0, 0, 1, 1)),
        C("conv1d_same_upper_even_kernel", 13, "Conv", [F("x", 1, 2, 7), W("w", 2, 2, 4)], AS("auto_pad", "SAME_UPPER")),
        C("maxpool_same_upper", 13, "MaxPool", [F("x", 1, 2, 5, 5)], AInts("kernel_shape", 3, 3), AInts("strides", 2, 2), AS("auto_pad", "SAME_UPPER")),
        C("maxpool_same_lower", 13, "MaxPool", [F("x", 1, 2, 4, 5)], AInts("kernel_shape", 2, 2), AS("auto_pad", "SAME_LOWER")),
        C("maxpool_pads_larger_than_half_kernel", 13, "MaxPool", [F("x", 1, 1, 5, 5)], AInts("kernel_shape", 3, 3), AInts("pads", 2, 2, 2, 2)),
        C("maxpool_1d", 13, "MaxPool", [F("x", 2, 3, 7)], AInts("kernel_shape", 3), AInts("strides", 2), AInts("pads", 1, 1)),
        C("averagepool_same_upper", 13, "AveragePool", [F("x", 1, 2, 5, 5)], AInts("kernel_shape", 3, 3), AInts("strides", 2, 2), AS("auto_pad", "SAME_UPPER")),
        C("averagepool_same_lower_include_pad", 13, "AveragePool", [F("x", 1, 2, 4, 5)], AInts("kernel_shape", 2, 2), AS("auto_pad", "SAME_LOWER"), AI("count_include_pad", 1)),
        C("averagepool_large_pads", 13, "AveragePool", [F("x", 1, 1, 5, 5)], AInts("kernel_shape", 3, 3), AInts("pads", 2, 2, 2, 2)),
        C("averagepool_large_pads_include_pad", 13, "AveragePool", [F("x", 1, 1, 5, 5)], AInts("kernel_shape", 3, 3), AInts("pads", 2, 2, 2, 2), AI("count_include_pad", 1)),
        C("averagepool_1d", 13, "AveragePool", [F("x", 1, 2, 6)], AInts("kernel_shape", 2), AInts("strides", 2)),
        C("globalmaxpool", 13, "GlobalMaxPool", [F("x", 2, 3, 4, 5)]),
        C("globalaveragepool_1d", 13, "GlobalAveragePool", [F("x", 2, 3, 5)]),
        C("instance_norm", 13, "InstanceNormalization", [F("x", 2, 3, 4, 5), W("s", 3), W("b", 3)], AF("epsilon", 1e-3f)),
        // BatchNormalization in training mode: batch statistics and the updated running mean / variance.
        C("batchnorm_training", 15, "BatchNormalization", [F("x", 4, 3, 2, 2), W("s", 3), W("b", 3), W("m", 3), new NodeIn("v", [3], Init: true, Lo: 0.5, Hi: 1.5)],
            AI("training_mode", 1), AF("momentum", 0.8f)) with { Outs = 3 },
        // NumPy matmul with 1-D operands.
        C("matmul_1d_left", 13, "MatMul", [F("a", 3), F("b", 2, 3, 4)]),
        C("matmul_1d_right", 13, "MatMul", [F("a", 2, 4, 3), F("b", 3)]),
        C("matmul_1d_both", 13, "MatMul", [F("a", 3), F("b", 3)]),
        // Arg reductions and Hardmax on ties (whole numbers).
        CT("argmax_select_last_index", 13, "ArgMax", 7, [Whole("x", [2, 4], 1, 3, 3, 0, 2, 2, -1, 2)], AI("axis", 1), AI("select_last_index", 1)),
        CT("argmin_select_last_index_no_keepdims", 13, "ArgMin", 7, [Whole("x", [3, 2], 1, 0, 0, 2, 1, 0)], AI("keepdims", 0), AI("select_last_index", 1)),
        C("hardmax_axis1_ties", 13, "Hardmax", [Whole("x", [2, 3, 2], 1, 3, 3, 0, 2, 3, 0, 0, 1, 1, 1, 0)], AI("axis", 1)),
        C("hardmax_opset11_coerced", 11, "Hardmax", [F("x", 2, 3, 4)]),
        // Casts, rearrangements, masks.
        CT("castlike_to_int64", 15, "CastLike", 7, [new NodeIn("x", [2, 3], Lo: -5, Hi: 5), I("like", 1)]),
        C("trilu_upper_k_initializer", 14, "Trilu", [F("x", 3, 4), KS("k", 1)]),
        C("trilu_lower_negative_k", 14, "Trilu", [F("x", 2, 3, 4), KS("k", -1)], AI("upper", 0)),
        C("trilu_lower_default_k", 14, "Trilu", [F("x", 4, 3)], AI("upper", 0)),
        C("tile", 13, "Tile", [F("x", 2, 3), K("r", 2, 3)]),
        C("depth_to_space_dcr", 13, "DepthToSpace", [F("x", 1, 8, 2, 3)], AI("blocksize", 2)),
        C("depth_to_space_crd", 13, "DepthToSpace", [F("x", 2, 8, 2, 3)], AI("blocksize", 2), AS("mode", "CRD")),
        C("space_to_depth", 13, "SpaceToDepth", [F("x", 1, 2, 4, 6)], AI("blocksize", 2)),
        C("slice_negative_steps", 13, "Slice", [F("x", 5, 6), K("st", -1, 4), K("en", -10, 0), K("ax", 0, 1), K("sp", -2, -1)]),
        CT("pow_int64", 13, "Pow", 7, [new NodeIn("a", [5], 7, Vals: [2, -3, 0, 5, 1]), new NodeIn("b", [5], 7, Vals: [3, 3, 2, 2, 7])]),
        CT("pow_int32_float_exponent", 15, "Pow", 6, [new NodeIn("a", [4], 6, Vals: [2, -3, 4, 7]), new NodeIn("b", [4], Vals: [2, 3, 1, 0])]),
        CT("size", 13, "Size", 7, [F("x", 2, 3, 4)]),
        C("eyelike_k1", 9, "EyeLike", [F("x", 3, 4)], AI("k", 1)),
        C("dropout_training_zero_ratio", 13, "Dropout", [F("x", 2, 3), new NodeIn("r", [], Init: true, Vals: [0]), new NodeIn("t", [], 9, Init: true, Vals: [1])]),
        // Math ops.
        C("cos", 13, "Cos", [F("x", 2, 3)]),
        C("tan", 13, "Tan", [new NodeIn("x", [2, 3], Lo: -1.2, Hi: 1.2)]),
        C("acosh", 13, "Acosh", [new NodeIn("x", [2, 3], Lo: 1, Hi: 4)]),
        C("atanh", 13, "Atanh", [new NodeIn("x", [2, 3], Lo: -0.9, Hi: 0.9)]),
        C("round", 13, "Round", [new NodeIn("x", [2, 4], Lo: -5, Hi: 5)]),
        C("floor", 13, "Floor", [new NodeIn("x", [2, 4], Lo: -5, Hi: 5)]),
        C("mod_fmod_float", 13, "Mod", [new NodeIn("a", [2, 3], Lo: -5, Hi: 5), new NodeIn("b", [3], Lo: 0.5, Hi: 2)], AI("fmod", 1)),
        CT("mod_int64_python_sign", 13, "Mod", 7, [new NodeIn("a", [6], 7, Vals: [7, -7, 7, -7, 0, 9]), new NodeIn("b", [6], 7, Vals: [3, 3, -3, -3, 4, 9])]),
        CT("mod_int32_fmod", 13, "Mod", 6, [new NodeIn("a", [4], 6, Vals: [7, -7, 7, -7]), new NodeIn("b", [4], 6, Vals: [3, 3, -3, -3])], AI("fmod", 1)),
        CT("isnan_finite", 13, "IsNaN", 9, [F("x", 2, 3)]),
        C("reduce_prod_axes", 13, "ReduceProd", [new NodeIn("x", [2, 3, 4], Lo: 0.5, Hi: 1.5)], AInts("axes", 0, 2)),
        C("reduce_prod_all_no_keepdims", 13, "ReduceProd", [new NodeIn("x", [2, 3], Lo: -1.5, Hi: 1.5)], AI("keepdims", 0)),
        C("cumsum_exclusive_reverse", 14, "CumSum", [F("x", 2, 3), KS("a", 1)], AI("exclusive", 1), AI("reverse", 1)),
        C("cumsum_axis_input", 14, "CumSum", [F("x", 3, 2), new NodeIn("a", [], 7, Vals: [-2])]),
        // Opsets before 7 for ops whose meaning did not change.
        C("elu_opset6", 6, "Elu", [F("x", 2, 3)], AF("alpha", 0.5f)),
        C("softsign_opset1", 1, "Softsign", [F("x", 2, 3)]),
        // Shape-like operands given as model inputs: the graph is specialised for their values.
        C("reshape_shape_input", 13, "Reshape", [F("x", 2, 3, 4), new NodeIn("s", [3], 7, Vals: [4, 0, -1])]),
        C("trilu_k_input", 14, "Trilu", [F("x", 3, 4), new NodeIn("k", [], 7, Vals: [-1])]),
        CT("range_inputs", 11, "Range", 7, [new NodeIn("s", [], 7, Vals: [2]), new NodeIn("l", [], 7, Vals: [11]), new NodeIn("d", [], 7, Vals: [3])]),
        C("constant_of_shape_input", 9, "ConstantOfShape", [new NodeIn("s", [2], 7, Vals: [2, 3])]),
        C("reduce_sum_axes_input", 13, "ReduceSum", [F("x", 2, 3, 4), new NodeIn("a", [2], 7, Vals: [0, -1])], AI("keepdims", 0)),
        C("slice_inputs", 13, "Slice", [F("x", 4, 5), new NodeIn("st", [2], 7, Vals: [1, -4]), new NodeIn("en", [2], 7, Vals: [3, 100])]),
        C("unsqueeze_axes_input", 13, "Unsqueeze", [F("x", 2, 3), new NodeIn("a", [2], 7, Vals: [0, 3])]),
        C("expand_shape_input", 13, "Expand", [F("x", 3, 1), new NodeIn("s", [3], 7, Vals: [2, 1, 4])]),
        C("split_sizes_input", 13, "Split", [F("x", 6, 2), new NodeIn("sp", [2], 7, Vals: [2, 4])]) with { Outs = 2 },
        C("tile_repeats_input", 13, "Tile", [F("x", 2, 3), new NodeIn("r", [2], 7, Vals: [1, 2])]),
        // MaxPool with its indices output (row-major and column-major storage, direct and explicit padding).
        C("maxpool_indices", 13, "MaxPool", [F("x", 2, 3, 5, 5)], AInts("kernel_shape", 3, 3), AInts("strides", 2, 2), AInts("pads", 1, 1, 1, 1)) with { Outs = 2, OutTypes = [1, 7] },
        C("maxpool_indices_column_major", 13, "MaxPool", [F("x", 1, 2, 4, 5)], AInts("kernel_shape", 2, 2), AI("storage_order", 1)) with { Outs = 2, OutTypes = [1, 7] },
        C("maxpool_indices_same_upper", 13, "MaxPool", [F("x", 1, 2, 5, 4)], AInts("kernel_shape", 2, 3), AS("auto_pad", "SAME_UPPER")) with { Outs = 2, OutTypes = [1, 7] },
        C("maxpool_indices_1d", 13, "MaxPool", [F("x", 2, 2, 6)], AInts("kernel_shape", 2), AInts("strides", 2)) with { Outs = 2, OutTypes = [1, 7] },
    ];

    private static IEnumerable<NodeCase> Cases() => OpCases;

    [TestCaseSource(nameof(Cases))]
    public void Op_MatchesOnnxRuntime(NodeCase c) => AssertMatchesOnnxRuntime(c, 4000, Torch, GraphBackend);
}
