using DualFramework.Backends;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

using static DualFramework.Tests.Onnx.OnnxNodeCases;

/// <summary>One-node models of the quantized ONNX ops (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger,
/// ConvInteger, QLinearMatMul, QLinearConv) imported and run on the torch and graph backends, bit-identical to ONNX
/// Runtime running the same model; and the ONNX backend node tests of these ops.</summary>
[TestFixture]
public class ImportQuantizeTests
{
    private static readonly IComputeBackend Torch = BackendRegistry.Get("torch");
    private static readonly IComputeBackend GraphBackend = BackendRegistry.Get("graph");

    private const int U8 = 2, I8 = 3, I32 = 6;

    private static NodeIn F(string name, params long[] shape) => new(name, shape);
    private static NodeIn Data(string name, int type, params long[] shape) =>
        new(name, shape, type, Lo: type == U8 ? 0 : type == I8 ? -128 : -100000, Hi: type == U8 ? 255 : type == I8 ? 127 : 100000);
    private static NodeIn Weight(string name, int type, params long[] shape) => Data(name, type, shape) with { Init = true };
    private static NodeIn Scale(string name, params double[] v) => new(name, v.Length == 1 ? [] : [v.Length], Init: true, FVals: v);
    private static NodeIn Zero(string name, int type, params long[] v) => new(name, v.Length == 1 ? [] : [v.Length], type, Init: true, Vals: v);

    private static NodeCase C(string name, int opset, string op, int outType, NodeIn[] ins, params AttributeProto[] attrs) => new(name, opset, op, ins, attrs, outType);

    // Quarter steps of x over a scale of 0.5 put every other x/scale on a tie.
    private static readonly double[] Ties = Enumerable.Range(-12, 24).Select(k => k * 0.25).Concat([300.0, -300.0]).ToArray();

    private static readonly NodeCase[] Cases =
    [
        C("quantize_uint8", 13, "QuantizeLinear", U8, [F("x", 2, 3, 4), Scale("s", 0.02), Zero("z", U8, 128)]),
        C("quantize_int8_axis1", 13, "QuantizeLinear", I8, [F("x", 2, 3, 4), Scale("s", 0.01, 0.02, 0.05), Zero("z", I8, -5, 0, 7)], AI("axis", 1)),
        C("quantize_int8_axis_negative", 13, "QuantizeLinear", I8, [F("x", 2, 4), Scale("s", 0.01, 0.02, 0.05, 0.1), Zero("z", I8, -5, 0, 7, 127)], AI("axis", -1)),
        C("quantize_no_zero_point", 13, "QuantizeLinear", U8, [F("x", 3, 4), Scale("s", 0.01)]),
        C("quantize_opset10_ties", 10, "QuantizeLinear", I8, [new NodeIn("x", [Ties.Length], FVals: Ties), Scale("s", 0.5), Zero("z", I8, 1)]),
        C("dequantize_uint8", 13, "DequantizeLinear", 1, [Data("q", U8, 2, 3), Scale("s", 0.1), Zero("z", U8, 100)]),
        C("dequantize_int8_axis0", 13, "DequantizeLinear", 1, [Data("q", I8, 3, 4), Scale("s", 0.1, 0.03, 2.5), Zero("z", I8, -128, 0, 127)], AI("axis", 0)),
        C("dequantize_int32", 13, "DequantizeLinear", 1, [Data("q", I32, 5), Scale("s", 0.003)]),
        new("dynamic_quantize", 13, "DynamicQuantizeLinear", [F("x", 3, 4)], [], Outs: 3) { OutTypes = [U8, 1, U8] },
        new("dynamic_quantize_positive", 13, "DynamicQuantizeLinear", [new NodeIn("x", [2, 5], Lo: 0.5, Hi: 3)], [], Outs: 3) { OutTypes = [U8, 1, U8] },
        C("matmul_integer", 13, "MatMulInteger", I32, [Data("a", U8, 3, 4), Data("b", U8, 4, 5), Zero("az", U8, 12), Zero("bz", U8, 200)]),
        C("matmul_integer_int8_per_column", 13, "MatMulInteger", I32, [Data("a", U8, 2, 3, 4), Weight("b", I8, 4, 5), Zero("az", U8, 3), Zero("bz", I8, 1, -2, 0, 5, -128)]),
        C("matmul_integer_no_zero_points", 13, "MatMulInteger", I32, [Data("a", U8, 3, 6), Data("b", U8, 6, 2)]),
        C("conv_integer_pads_strides", 13, "ConvInteger", I32, [Data("x", U8, 1, 2, 5, 5), Weight("w", U8, 3, 2, 3, 3), Zero("xz", U8, 7), Zero("wz", U8, 100)],
            AInts("pads", 1, 1, 1, 1), AInts("strides", 2, 1)),
        C("conv_integer_no_zero_points", 13, "ConvInteger", I32, [Data("x", U8, 2, 4, 4, 4), Weight("w", U8, 2, 4, 2, 2)]),
        C("conv_integer_asymmetric_pads_group", 13, "ConvInteger", I32, [Data("x", U8, 1, 4, 6, 5), Weight("w", U8, 4, 2, 3, 2), Zero("xz", U8, 128), Zero("wz", U8, 9)],
            AInts("pads", 0, 1, 2, 0), AI("group", 2), AInts("dilations", 1, 2)),
        C("qlinear_matmul_uint8", 13, "QLinearMatMul", U8, [Data("a", U8, 2, 4), Scale("as", 0.05), Zero("az", U8, 120), Weight("b", U8, 4, 3), Scale("bs", 0.03),
            Zero("bz", U8, 130), Scale("ys", 1.5), Zero("yz", U8, 128)]),
        C("qlinear_matmul_int8_per_column", 13, "QLinearMatMul", I8, [Data("a", I8, 3, 2, 8), Scale("as", 0.02), Zero("az", I8, -3), Weight("b", I8, 8, 3),
            Scale("bs", 0.01, 0.02, 0.04), Zero("bz", I8, 0, 0, 0), Scale("ys", 0.7), Zero("yz", I8, 5)]),
        C("qlinear_conv_uint8_bias", 13, "QLinearConv", U8, [Data("x", U8, 1, 2, 5, 5), Scale("xs", 0.01), Zero("xz", U8, 128), Weight("w", U8, 4, 2, 3, 3),
            Scale("ws", 0.01), Zero("wz", U8, 127), Scale("ys", 0.05), Zero("yz", U8, 100), new NodeIn("b", [4], I32, Init: true, Lo: -2000, Hi: 2000)],
            AInts("pads", 1, 1, 1, 1)),
        C("qlinear_conv_int8_per_channel", 13, "QLinearConv", I8, [Data("x", I8, 2, 3, 4, 4), Scale("xs", 0.02), Zero("xz", I8, -4), Weight("w", I8, 4, 3, 2, 2),
            Scale("ws", 0.01, 0.02, 0.005, 0.03), Zero("wz", I8, 0, 0, 0, 0), Scale("ys", 0.4), Zero("yz", I8, -2)], AInts("strides", 2, 2)),
    ];

    private static IEnumerable<NodeCase> AllCases() => Cases;

    [TestCaseSource(nameof(AllCases))]
    public void Matches_onnx_runtime_exactly(NodeCase c)
    {
        using var s = TensorScope.Begin();
        var (bytes, feeds) = Build(c, 100);
        var wants = OrtHarness.Run(bytes, feeds);
        using var model = OnnxImporter.FromBytes(bytes);
        var inputs = feeds.Select(f => Tensor.FromBytes(f.Data, f.Spec)).ToArray();
        foreach (var backend in new[] { Torch, GraphBackend })
        {
            var gots = model.Run(backend, inputs);
            gots.Should().HaveCount(c.Outs);
            for (int o = 0; o < c.Outs; o++)
            {
                gots[o].Spec.Should().Be(wants[o].Spec, $"{c.Name} output {o} on {backend.Name}");
                gots[o].ToBytes().Should().Equal(wants[o].Data, $"{c.Name} output {o} on {backend.Name} is bit-identical to ONNX Runtime");
            }
            // Not a saturated or constant output: the case exercises the arithmetic.
            if (c.OutTypes == null) gots[0].ToDoubleArray().Distinct().Count().Should().BeGreaterThan(2, c.Name);
        }
    }

    [Test]
    public void Quantize_ties_round_to_even_as_the_spec_says()
    {
        using var s = TensorScope.Begin();
        var (bytes, feeds) = Build(Cases.Single(k => k.Name == "quantize_opset10_ties"), 1);
        using var model = OnnxImporter.FromBytes(bytes);
        var y = model.Run(Torch, feeds.Select(f => Tensor.FromBytes(f.Data, f.Spec)).ToArray())[0].ToArray<sbyte>();
        y.Should().Equal(Ties.Select(v => (sbyte)Math.Clamp(Math.Round(v / 0.5, MidpointRounding.ToEven) + 1, -128, 127)));
    }

    [Test]
    public void Unsupported_forms_are_reported()
    {
        var cases = new (NodeCase Case, string Message)[]
        {
            (C("quantize_int32_input", 13, "QuantizeLinear", U8, [Data("x", I32, 3), Scale("s", 0.5)]), "int32 inputs are not supported"),
            (C("conv_integer_too_long", 13, "ConvInteger", I32, [Data("x", U8, 1, 500, 3, 3), Weight("w", U8, 1, 500, 3, 3)]), "a reduction over 4500 terms is not supported"),
        };
        foreach (var (c, msg) in cases)
            FluentActions.Invoking(() => OnnxImporter.FromBytes(Build(c, 1).Model)).Should().Throw<OnnxImportException>().WithMessage($"*{msg}*", c.Name);
    }

    private static readonly string[] NodeTests =
    [
        "test_quantizelinear", "test_quantizelinear_axis", "test_dequantizelinear", "test_dequantizelinear_axis",
        "test_dynamicquantizelinear", "test_dynamicquantizelinear_max_adjusted", "test_dynamicquantizelinear_min_adjusted",
        "test_dynamicquantizelinear_expanded", "test_dynamicquantizelinear_max_adjusted_expanded", "test_dynamicquantizelinear_min_adjusted_expanded",
        "test_matmulinteger", "test_basic_convinteger", "test_convinteger_with_padding", "test_convinteger_without_padding",
        "test_qlinearmatmul_2D", "test_qlinearmatmul_3D", "test_qlinearconv",
    ];

    [TestCase("torch")]
    [TestCase("graph")]
    public void Onnx_node_tests_pass(string backendName) => AssertNodeTestsPass(backendName, NodeTests);
}
