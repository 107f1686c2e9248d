using DualFramework.Backends;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using DualFramework.Tests.NN;
using FluentAssertions;
using Google.Protobuf;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

using static DualFramework.Tests.Onnx.OnnxNodeCases;

/// <summary>One-node ONNX models of the later importer mappings (comparisons, reductions, activations, n-ary ops,
/// casts, control of Dropout / pooling rejections) checked against ONNX Runtime on the torch and graph backends.</summary>
[TestFixture]
public class ImportMoreTests
{
    private static readonly IComputeBackend Torch = BackendRegistry.Get("torch");
    private static readonly IComputeBackend GraphBackend = BackendRegistry.Get("graph");

    private static NodeIn F(string name, params long[] shape) => new(name, shape);
    private static NodeIn Pos(string name, params long[] shape) => new(name, shape, Lo: 0.1, Hi: 2);
    private static NodeIn I(string name, params long[] shape) => new(name, shape, 7);
    private static NodeIn B(string name, params long[] shape) => new(name, shape, 9);
    private static NodeIn K(string name, params long[] values) => new(name, [values.Length], 7, Init: true, Vals: values);


    private static NodeCase C(string name, int opset, string op, NodeIn[] ins, params AttributeProto[] attrs) => new(name, opset, op, ins, attrs);
    private static NodeCase CT(string name, int opset, string op, int outType, NodeIn[] ins, params AttributeProto[] attrs) => new(name, opset, op, ins, attrs, outType);

    private static readonly NodeCase[] OpCases =
    [
        CT("cast_float_to_int64", 13, "Cast", 7, [F("a", 2, 3)], AI("to", 7)),
        CT("cast_int64_to_float", 13, "Cast", 1, [I("a", 2, 3)], AI("to", 1)),
        C("reduce_max_axes", 13, "ReduceMax", [F("a", 2, 3, 4)], AInts("axes", 1), AI("keepdims", 0)),
        C("reduce_min_all", 13, "ReduceMin", [F("a", 2, 3, 4)]),
        C("reduce_sum_square", 13, "ReduceSumSquare", [F("a", 2, 3, 4)], AInts("axes", -1)),
        C("reduce_l1", 13, "ReduceL1", [F("a", 2, 3, 4)], AInts("axes", 0, 2)),
        C("reduce_l2", 13, "ReduceL2", [F("a", 2, 3, 4)], AInts("axes", 1), AI("keepdims", 0)),
        C("reduce_log_sum", 13, "ReduceLogSum", [Pos("a", 2, 3, 4)], AInts("axes", 2)),
        C("reduce_log_sum_exp", 13, "ReduceLogSumExp", [F("a", 2, 3, 4)], AInts("axes", 1)),
        CT("argmax_keepdims", 13, "ArgMax", 7, [F("a", 2, 3, 4)], AI("axis", 1)),
        CT("argmin_no_keepdims", 13, "ArgMin", 7, [F("a", 2, 3, 4)], AI("axis", -1), AI("keepdims", 0)),
        CT("equal_int", 13, "Equal", 9, [I("a", 2, 3), I("b", 3)]),
        CT("less", 13, "Less", 9, [F("a", 2, 3), F("b", 2, 3)]),
        CT("greater_bcast", 13, "Greater", 9, [F("a", 2, 3), F("b", 3)]),
        CT("less_or_equal", 16, "LessOrEqual", 9, [F("a", 2, 3), F("b", 2, 3)]),
        CT("greater_or_equal", 16, "GreaterOrEqual", 9, [F("a", 2, 3), F("b", 2, 3)]),
        CT("not", 13, "Not", 9, [B("a", 2, 3)]),
        CT("and", 13, "And", 9, [B("a", 2, 3), B("b", 2, 3)]),
        CT("or_bcast", 13, "Or", 9, [B("a", 2, 3), B("b", 3)]),
        CT("xor", 13, "Xor", 9, [B("a", 2, 3), B("b", 2, 3)]),
        C("where", 16, "Where", [B("c", 2, 3), F("a", 2, 3), F("b", 3)]),
        C("min_nary", 13, "Min", [F("a", 2, 3), F("b", 3), F("c", 2, 1)]),
        C("max_nary", 13, "Max", [F("a", 2, 3), F("b", 3), F("c", 2, 1)]),
        C("sum_nary", 13, "Sum", [F("a", 2, 3), F("b", 3), F("c", 2, 3)]),
        C("mean_nary", 13, "Mean", [F("a", 2, 3), F("b", 3), F("c", 2, 3)]),
        C("reciprocal", 13, "Reciprocal", [Pos("a", 2, 3)]),
        C("softplus", 13, "Softplus", [F("a", 2, 3)]),
        C("softsign", 13, "Softsign", [F("a", 2, 3)]),
        C("hardsigmoid", 13, "HardSigmoid", [F("a", 2, 3)], AF("alpha", 0.3f), AF("beta", 0.4f)),
        C("hardswish", 14, "HardSwish", [F("a", 2, 3, 4)]),
        C("elu", 13, "Elu", [F("a", 2, 3)], AF("alpha", 0.7f)),
        C("selu", 13, "Selu", [F("a", 2, 3)]),
        C("celu", 13, "Celu", [F("a", 2, 3)], AF("alpha", 1.5f)),
        C("thresholded_relu", 13, "ThresholdedRelu", [F("a", 2, 3)], AF("alpha", 0.5f)),
        C("prelu", 13, "PRelu", [F("a", 2, 3), new NodeIn("s", [3], Init: true)]),
        C("erf", 13, "Erf", [F("a", 2, 3)]),
        C("sign", 13, "Sign", [F("a", 2, 3)]),
        CT("shape", 13, "Shape", 7, [F("a", 2, 3, 4)]),
        CT("shape_start_end", 15, "Shape", 7, [F("a", 2, 3, 4)], AI("start", -2), AI("end", 10)),
        C("constant_of_shape", 13, "ConstantOfShape", [K("s", 2, 3)], new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = new TensorProto { DataType = 1, Dims = { 1 }, FloatData = { 1.5f } } }),
        C("slice_inputs", 13, "Slice", [F("a", 4, 5, 6), K("st", 1, -4), K("en", 1000, -1), K("ax", 0, 2), K("sp", 2, 1)]),
        C("slice_default_axes", 11, "Slice", [F("a", 4, 5), K("st", 0, 1), K("en", -1, 3)]),
        C("slice_opset9_attrs", 9, "Slice", [F("a", 4, 5)], AInts("starts", 1), AInts("ends", 3), AInts("axes", 1)),
        C("pad_opset2_attrs", 2, "Pad", [F("a", 2, 3)], AInts("pads", 1, 0, 0, 2), AF("value", 1.5f)),
        C("pad_opset11_crop_and_value", 11, "Pad", [F("a", 2, 3, 4), K("p", 0, -1, 2, 1, 1, -1), new NodeIn("v", [], Init: true, FVals: [-0.5])]),
        C("pad_reflect", 13, "Pad", [F("a", 1, 2, 4, 3), K("p", 0, 0, 3, 1, 0, 0, 1, 2)], AS("mode", "reflect")),
        C("pad_edge", 13, "Pad", [F("a", 3, 2), K("p", 2, 1, 0, 3)], AS("mode", "edge")),
        CT("pad_int64_default_value", 13, "Pad", 7, [I("a", 2, 2), K("p", 1, 0, 0, 1)]),
        C("log_softmax", 13, "LogSoftmax", [F("a", 2, 3, 4)], AI("axis", 1)),
        C("log_softmax_opset11_coerced", 11, "LogSoftmax", [F("a", 2, 3, 4)], AI("axis", 1)),
        C("gather_negative_indices", 13, "Gather", [F("a", 4, 3), K("i", 0, -1, 2)]),
        C("gather_axis1_runtime_indices", 13, "Gather", [F("a", 2, 5), new NodeIn("i", [2, 2], 7, Lo: -5, Hi: 4)], AI("axis", 1)),
        C("gather_elements", 13, "GatherElements", [F("a", 3, 4), new NodeIn("i", [3, 2], 7, Lo: -4, Hi: 3)], AI("axis", 1)),
        C("expand", 13, "Expand", [F("a", 3, 1), K("s", 2, 1, 4)]),
        C("split_attr", 11, "Split", [F("a", 2, 6)], AI("axis", 1), AInts("split", 2, 4)) with { Outs = 2 },
        C("split_input", 13, "Split", [F("a", 6, 2), K("sp", 1, 2, 3)]) with { Outs = 3 },
        C("split_equal", 13, "Split", [F("a", 6, 2)]) with { Outs = 3 },
        C("layer_norm_stats", 17, "LayerNormalization", [F("a", 2, 3, 4), new NodeIn("g", [3, 4], Init: true), new NodeIn("b", [4], Init: true)], AI("axis", 1), AF("epsilon", 1e-3f)) with { Outs = 3 },
        C("layer_norm_no_bias", 17, "LayerNormalization", [F("a", 2, 3, 4), new NodeIn("g", [4], Init: true)]),
        C("clip_runtime_bounds", 13, "Clip", [F("a", 2, 3), new NodeIn("lo", [], Lo: -0.5, Hi: -0.4), new NodeIn("hi", [], Lo: 0.5, Hi: 0.6)]),
    ];

    private static (byte[] Model, List<OrtHarness.HostTensor> Feeds) Build(NodeCase c, int seed) => OnnxNodeCases.Build(c, seed);

    private static IEnumerable<NodeCase> Cases() => OpCases;

    [TestCaseSource(nameof(Cases))]
    public void Op_MatchesOnnxRuntime(NodeCase c) => OnnxNodeCases.AssertMatchesOnnxRuntime(c, 2000, Torch, GraphBackend);

    private static ImportException Import(NodeCase c) => new(() => OnnxImporter.FromBytes(Build(c, 1).Model));

    /// <summary>Defers an import so FluentAssertions can check the exception.</summary>
    public sealed record ImportException(Action Act);

    [Test]
    public void Rejections_AreReportedAsNotSupported()
    {
        using var s = TensorScope.Begin();
        var cases = new (NodeCase Case, string Message)[]
        {
            (C("maxpool_big_pads_ceil", 13, "MaxPool", [F("a", 1, 1, 6, 6)], AInts("kernel_shape", 3, 3), AInts("pads", 2, 2, 2, 2), AI("ceil_mode", 1)),
                "ceil_mode=1 with asymmetric pads or pads larger than half the kernel is not supported"),
            (C("maxpool_4d", 13, "MaxPool", [F("a", 1, 1, 2, 2, 2, 2)], AInts("kernel_shape", 2, 2, 2, 2)), "only 1-D to 3-D pooling is supported"),
            (CT("div_int", 13, "Div", 7, [I("a", 3), I("b", 3)]), "int64 inputs are not supported"),
            (C("slice_empty_negative_step", 13, "Slice", [F("a", 4), K("st", 0), K("en", 3), K("ax", 0), K("sp", -1)]), "an empty negative-step slice is not supported"),
            (C("dropout_training_input", 13, "Dropout", [F("a", 2, 3), new NodeIn("r", []), B("t", [])]), "a training_mode that is not a model constant is not supported"),
            (C("dropout_training_ratio", 13, "Dropout", [F("a", 2, 3), new NodeIn("r", [], Init: true, Lo: 0.5, Hi: 0.6), new NodeIn("t", [], 9, Init: true, Lo: 1, Hi: 2)]),
                "training_mode=true with a ratio that is not a constant 0 (a random mask) is not supported"),
        };
        foreach (var (c, msg) in cases)
            Import(c).Act.Should().Throw<OnnxImportException>().WithMessage($"*{msg}*", c.Name);
    }

    [Test]
    public void DropoutMask_IsAllTrueInInference()
    {
        using var s = TensorScope.Begin();
        var (bytes, feeds) = Build(C("dropout_mask", 13, "Dropout", [F("a", 2, 3)]), 1);
        var m = ModelProto.Parser.ParseFrom(bytes);
        m.Graph.Node[0].Output.Add("mask");
        m.Graph.Output.Add(new ValueInfoProto { Name = "mask", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 9 } } });
        var want = OrtHarness.Run(m.ToByteArray(), feeds);
        using var model = OnnxImporter.FromModel(m);
        var x = Tensor.FromBytes(feeds[0].Data, feeds[0].Spec);
        foreach (var backend in new[] { Torch, GraphBackend })
        {
            var got = model.Run(backend, x);
            got[0].ToDoubleArray().Should().Equal(want[0].ToDoubles());
            got[1].Spec.Should().Be(want[1].Spec);
            got[1].ToDoubleArray().Should().Equal(want[1].ToDoubles());
        }
    }

    [Test]
    public void UnproducedExtraOutput_IsNotSupported()
    {
        using var s = TensorScope.Begin();
        // Inference-mode BatchNormalization (opset 9) may list saved statistics as extra outputs; they are not produced.
        var (bytes, _) = Build(C("bn", 9, "BatchNormalization", [F("a", 2, 3), new NodeIn("s", [3], Init: true), new NodeIn("b", [3], Init: true),
            new NodeIn("m", [3], Init: true), new NodeIn("v", [3], Init: true, Lo: 0.5)]), 1);
        var m = ModelProto.Parser.ParseFrom(bytes);
        m.Graph.Node[0].Output.Add("mean");
        m.Graph.Output.Add(new ValueInfoProto { Name = "mean", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } } });
        FluentActions.Invoking(() => OnnxImporter.FromModel(m)).Should().Throw<OnnxImportException>().WithMessage("*output 1 ('mean') is not supported*");
    }
}
