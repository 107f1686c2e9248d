using DualFramework.Backends;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using DualFramework.Tests.NN;
using FluentAssertions;
using Google.Protobuf;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

using static DualFramework.Tests.Onnx.OnnxNodeCases;

/// <summary>One-node ONNX models of the loss and transposed-convolution mappings (SoftmaxCrossEntropyLoss,
/// NegativeLogLikelihoodLoss, ConvTranspose) checked against ONNX Runtime on the torch and graph backends.</summary>
[TestFixture]
public class ImportLossTests
{
    private static readonly IComputeBackend Torch = BackendRegistry.Get("torch");
    private static readonly IComputeBackend GraphBackend = BackendRegistry.Get("graph");

    private static NodeIn F(string name, params long[] shape) => new(name, shape);
    private static NodeIn W(string name, params long[] shape) => new(name, shape, Init: true);
    private static NodeIn T(string name, params long[] vals) => new(name, [vals.Length], 7, Vals: vals);
    private static NodeIn T32(string name, params long[] vals) => new(name, [vals.Length], 6, Vals: vals);


    private static NodeCase C(string name, int opset, string op, NodeIn[] ins, params AttributeProto[] attrs) => new(name, opset, op, ins, attrs);

    private static readonly NodeCase[] OpCases =
    [
        C("sce_mean", 13, "SoftmaxCrossEntropyLoss", [F("x", 4, 3), T("t", 0, 2, 1, 2)]),
        C("sce_sum_int32_targets", 13, "SoftmaxCrossEntropyLoss", [F("x", 4, 3), T32("t", 1, 0, 2, 2)], AS("reduction", "sum")),
        C("sce_none_log_prob", 13, "SoftmaxCrossEntropyLoss", [F("x", 4, 3), T("t", 2, 2, 0, 1)], AS("reduction", "none")) with { Outs = 2 },
        C("sce_mean_weight_ii", 12, "SoftmaxCrossEntropyLoss", [F("x", 5, 3), T("t", 0, 2, 1, 1, 2), W("w", 3)], AI("ignore_index", 1)) with { Outs = 2 },
        C("sce_mean_negative_ii", 13, "SoftmaxCrossEntropyLoss", [F("x", 4, 3), T("t", -1, 2, 0, -1), W("w", 3)], AI("ignore_index", -1)),
        C("nll_mean", 13, "NegativeLogLikelihoodLoss", [F("x", 4, 3), T("t", 0, 2, 1, 2)]),
        C("nll_sum_weight", 13, "NegativeLogLikelihoodLoss", [F("x", 4, 3), T("t", 0, 2, 1, 2), W("w", 3)], AS("reduction", "sum")),
        C("nll_none_ii", 12, "NegativeLogLikelihoodLoss", [F("x", 4, 3), T32("t", 1, 2, 1, 0)], AS("reduction", "none"), AI("ignore_index", 1)),
        C("nll_mean_weight_negative_ii", 13, "NegativeLogLikelihoodLoss", [F("x", 5, 3), T("t", 0, -5, 1, 2, -5), W("w", 3)], AI("ignore_index", -5)),
        C("convtranspose_2d", 13, "ConvTranspose", [F("x", 1, 2, 3, 3), W("w", 2, 3, 3, 3), W("b", 3)]),
        C("convtranspose_2d_stride_pad_outpad", 13, "ConvTranspose", [F("x", 1, 2, 3, 4), W("w", 2, 2, 3, 2)],
            AInts("strides", 3, 2), AInts("pads", 1, 0, 1, 0), AInts("output_padding", 1, 1)),
        C("convtranspose_2d_group_dilation", 13, "ConvTranspose", [F("x", 2, 4, 3, 3), W("w", 4, 1, 2, 2)],
            AI("group", 2), AInts("dilations", 2, 2), AInts("kernel_shape", 2, 2)),
        C("convtranspose_1d", 11, "ConvTranspose", [F("x", 1, 2, 5), W("w", 2, 3, 3), W("b", 3)], AInts("strides", 2), AInts("pads", 1, 1)),
        C("convtranspose_default_output_shape", 13, "ConvTranspose", [F("x", 1, 1, 3, 3), W("w", 1, 2, 3, 3)],
            AInts("strides", 2, 2), AInts("output_shape", 7, 7)),
        C("convtranspose_smaller_output_shape", 13, "ConvTranspose", [F("x", 1, 1, 3, 3), W("w", 1, 2, 3, 3)],
            AInts("strides", 3, 2), AInts("output_shape", 8, 6)),
        C("convtranspose_same_upper", 13, "ConvTranspose", [F("x", 1, 1, 3, 3), W("w", 1, 2, 3, 3)], AInts("strides", 2, 2), AS("auto_pad", "SAME_UPPER")),
        C("convtranspose_same_lower", 13, "ConvTranspose", [F("x", 1, 1, 3, 4), W("w", 1, 2, 3, 2)], AInts("strides", 2, 2), AS("auto_pad", "SAME_LOWER")),
        C("convtranspose_asymmetric_pads", 13, "ConvTranspose", [F("x", 1, 2, 3, 4), W("w", 2, 1, 3, 3), W("b", 1)], AInts("strides", 2, 1), AInts("pads", 1, 0, 0, 2)),
        C("sce_3d_none", 13, "SoftmaxCrossEntropyLoss", [F("x", 2, 3, 4), new NodeIn("t", [2, 4], 7, Vals: [0, 1, 2, 0, 1, 2, 0, 1])], AS("reduction", "none")) with { Outs = 2 },
        C("sce_4d_mean_weight_ii", 13, "SoftmaxCrossEntropyLoss", [F("x", 2, 3, 2, 2), new NodeIn("t", [2, 2, 2], 7, Vals: [0, 1, 2, 0, 1, 2, 0, 1]), W("w", 3)], AI("ignore_index", 2)),
        C("nll_4d_sum", 13, "NegativeLogLikelihoodLoss", [F("x", 2, 3, 2, 2), new NodeIn("t", [2, 2, 2], 7, Vals: [0, 1, 2, 0, 1, 2, 0, 1])], AS("reduction", "sum")),
        C("nll_3d_none_weight", 13, "NegativeLogLikelihoodLoss", [F("x", 2, 3, 3), new NodeIn("t", [2, 3], 7, Vals: [2, 1, 0, 0, 2, 1]), W("w", 3)], AS("reduction", "none")),
    ];

    private static (byte[] Model, List<OrtHarness.HostTensor> Feeds) Build(NodeCase c, int seed) => OnnxNodeCases.Build(c, seed);

    private static IEnumerable<NodeCase> Cases() => OpCases;

    [TestCaseSource(nameof(Cases))]
    public void Op_MatchesOnnxRuntime(NodeCase c) => OnnxNodeCases.AssertMatchesOnnxRuntime(c, 3000, Torch, GraphBackend);

    [Test]
    public void NllLoss_MatchesHandComputedValues()
    {
        using var s = TensorScope.Begin();
        // Weighted mean over non-ignored rows: (w0·-x[0,0] + w2·-x[2,2]) / (w0 + w2); row 1 is ignored.
        var c = C("nll_hand", 13, "NegativeLogLikelihoodLoss", [new NodeIn("x", [3, 3]), T("t", 0, 1, 2), W("w", 3)], AI("ignore_index", 1));
        var (bytes, _) = Build(c, 1);
        var m = ModelProto.Parser.ParseFrom(bytes);
        m.Graph.Initializer[0].RawData = ByteString.CopyFrom(new[] { 0.5f, 2f, 3f }.SelectMany(BitConverter.GetBytes).ToArray());
        using var model = OnnxImporter.FromModel(m);
        var x = Tensor.FromArray(new float[] { -1, -2, -3, -4, -5, -6, -7, -8, -9 }, new Shape(3L, 3L));
        var t = Tensor.FromArray(new long[] { 0, 1, 2 });
        double want = (0.5 * 1 + 3 * 9) / (0.5 + 3);
        foreach (var backend in new[] { Torch, GraphBackend })
            model.Run(backend, x, t)[0].ToDoubleArray()[0].Should().BeApproximately(want, 1e-5, backend.Name);
    }

    [Test]
    public void Rejections_AreReportedAsNotSupported()
    {
        using var s = TensorScope.Begin();
        var cases = new (NodeCase Case, string Message)[]
        {
            (C("sce_1d", 13, "SoftmaxCrossEntropyLoss", [F("x", 3), T("t", 0, 1, 2)]), "scores must have rank ≥ 2"),
            (C("nll_bad_targets", 13, "NegativeLogLikelihoodLoss", [F("x", 2, 3, 2), T("t", 0, 1)]), "targets must have shape [2, 2]"),
            (C("sce_bad_reduction", 13, "SoftmaxCrossEntropyLoss", [F("x", 2, 3), T("t", 0, 1)], AS("reduction", "max")), "reduction 'max' is not supported"),
            (C("convtranspose_4d", 13, "ConvTranspose", [F("x", 1, 1, 2, 2, 2, 2), W("w", 1, 1, 2, 2, 2, 2)]), "only 1-D to 3-D"),
            (C("convtranspose_output_shape", 13, "ConvTranspose", [F("x", 1, 1, 3, 3), W("w", 1, 1, 3, 3)], AInts("strides", 3, 2), AInts("output_shape", 12, 8)),
                "the requested output size [12, 8] exceeds the full output [9, 7] by more than output_padding allows (below max(stride, dilation)), which is not supported"),
        };
        foreach (var (c, msg) in cases)
        {
            var bytes = Build(c, 1).Model;
            FluentActions.Invoking(() => OnnxImporter.FromBytes(bytes)).Should().Throw<OnnxImportException>().WithMessage($"*{msg}*", c.Name);
        }
    }
}
