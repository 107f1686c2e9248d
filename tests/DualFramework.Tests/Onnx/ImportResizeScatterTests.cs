using DualFramework.Backends;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

using static DualFramework.Tests.Onnx.OnnxNodeCases;

/// <summary>One-node ONNX models of Resize (interpolation tables built at import), ScatterElements / Scatter / ScatterND
/// (on scatter_add) and uint8 BitShift, checked against ONNX Runtime on the torch and graph backends, plus the forms
/// reported as unsupported.</summary>
[TestFixture]
public class ImportResizeScatterTests
{
    private static readonly IComputeBackend Torch = BackendRegistry.Get("torch");
    private static readonly IComputeBackend GraphBackend = BackendRegistry.Get("graph");

    private static NodeIn F(string name, params long[] shape) => new(name, shape);
    private static NodeIn Fk(string name, params double[] values) => new(name, [values.Length], Init: true, FVals: values);
    private static NodeIn K(string name, params long[] values) => new(name, [values.Length], 7, Init: true, Vals: values);
    private static NodeIn Ix(string name, long[] shape, params long[] values) => new(name, shape, 7, Vals: values);
    private static readonly NodeIn NoRoi = Fk("roi");
    private static readonly NodeIn NoScales = Fk("scales");

    private static NodeCase C(string name, int opset, string op, NodeIn[] ins, params AttributeProto[] attrs) => new(name, opset, op, ins, attrs);

    private static readonly NodeCase[] OpCases =
    [
        // Resize: every mode, coordinate transformation and nearest rounding, by scales and by sizes.
        C("resize_nearest_scales", 13, "Resize", [F("x", 1, 2, 2, 3), NoRoi, Fk("scales", 1, 1, 2, 1.5)]),
        C("resize_nearest_sizes_asymmetric_ceil", 13, "Resize", [F("x", 1, 2, 4, 5), NoRoi, NoScales, K("sizes", 1, 2, 7, 3)],
            AS("coordinate_transformation_mode", "asymmetric"), AS("nearest_mode", "ceil")),
        C("resize_nearest_align_corners_floor", 13, "Resize", [F("x", 1, 1, 3, 4), NoRoi, NoScales, K("sizes", 1, 1, 5, 7)],
            AS("coordinate_transformation_mode", "align_corners"), AS("nearest_mode", "floor")),
        C("resize_nearest_tf_half_pixel_prefer_ceil", 13, "Resize", [F("x", 1, 1, 4, 6), NoRoi, NoScales, K("sizes", 1, 1, 3, 4)],
            AS("coordinate_transformation_mode", "tf_half_pixel_for_nn"), AS("nearest_mode", "round_prefer_ceil")),
        C("resize_nearest_rank3", 13, "Resize", [F("x", 2, 3, 4), NoRoi, Fk("scales", 1, 2, 0.5)]),
        new NodeCase("resize_nearest_int32", 13, "Resize", [new NodeIn("x", [1, 1, 2, 3], 6, Lo: -9, Hi: 9), NoRoi, Fk("scales", 1, 1, 3, 2)], [], OutType: 6),
        C("resize_linear_down_scales", 13, "Resize", [F("x", 1, 1, 4, 6), NoRoi, Fk("scales", 1, 1, 0.5, 0.5)], AS("mode", "linear")),
        C("resize_linear_up_sizes", 13, "Resize", [F("x", 2, 3, 3, 4), NoRoi, NoScales, K("sizes", 2, 3, 7, 5)], AS("mode", "linear")),
        C("resize_linear_align_corners", 13, "Resize", [F("x", 1, 1, 3, 4), NoRoi, NoScales, K("sizes", 1, 1, 5, 7)],
            AS("mode", "linear"), AS("coordinate_transformation_mode", "align_corners")),
        C("resize_linear_pytorch_half_pixel_to_one", 13, "Resize", [F("x", 1, 1, 4, 4), NoRoi, NoScales, K("sizes", 1, 1, 1, 3)],
            AS("mode", "linear"), AS("coordinate_transformation_mode", "pytorch_half_pixel")),
        C("resize_linear_asymmetric", 11, "Resize", [F("x", 1, 1, 3, 3), NoRoi, Fk("scales", 1, 1, 2, 2)],
            AS("mode", "linear"), AS("coordinate_transformation_mode", "asymmetric")),
        C("resize_cubic_up_sizes", 13, "Resize", [F("x", 1, 1, 3, 4), NoRoi, NoScales, K("sizes", 1, 1, 6, 5)], AS("mode", "cubic")),
        C("resize_cubic_exclude_outside", 13, "Resize", [F("x", 1, 1, 5, 4), NoRoi, Fk("scales", 1, 1, 0.8, 1.75)],
            AS("mode", "cubic"), AF("cubic_coeff_a", -0.5f), AI("exclude_outside", 1)),
        C("resize_cubic_align_corners", 13, "Resize", [F("x", 1, 1, 4, 4), NoRoi, NoScales, K("sizes", 1, 1, 3, 6)],
            AS("mode", "cubic"), AS("coordinate_transformation_mode", "align_corners")),
        C("resize_tf_crop_and_resize_extrapolation", 13, "Resize",
            [F("x", 1, 1, 4, 4), Fk("roi", 0, 0, 0.4, 0.6, 1, 1, 1.2, 1.7), NoScales, K("sizes", 1, 1, 3, 3)],
            AS("mode", "linear"), AS("coordinate_transformation_mode", "tf_crop_and_resize"), AF("extrapolation_value", 10)),
        C("resize_opset10_nearest", 10, "Resize", [F("x", 1, 1, 2, 3), Fk("scales", 1, 1, 2, 3)]),
        C("resize_opset10_linear", 10, "Resize", [F("x", 1, 1, 2, 3), Fk("scales", 1, 1, 2, 2)], AS("mode", "linear")),
        C("resize_sizes_input", 13, "Resize", [F("x", 1, 1, 3, 4), NoRoi, NoScales, Ix("sizes", [4], 1, 1, 5, 2)], AS("mode", "linear")),
        // Scatter: replacement (distinct indices, some negative), addition with duplicates, the legacy name, N-D tuples.
        C("scatter_elements_axis1", 13, "ScatterElements", [F("d", 3, 4), Ix("i", [3, 2], 0, -1, 2, 1, -4, 3), F("u", 3, 2)], AI("axis", 1)),
        C("scatter_elements_add_duplicates", 16, "ScatterElements", [F("d", 3, 3), Ix("i", [2, 3], 1, 0, 2, 1, 2, 2), F("u", 2, 3)],
            AS("reduction", "add")),
        new NodeCase("scatter_elements_int64", 13, "ScatterElements",
            [new NodeIn("d", [4, 2], 7, Lo: -9, Hi: 9), Ix("i", [2, 2], 3, 0, 1, 2), new NodeIn("u", [2, 2], 7, Lo: -9, Hi: 9)], [], OutType: 7),
        C("scatter_legacy", 9, "Scatter", [F("d", 3, 3), Ix("i", [1, 3], 2, 0, 1), F("u", 1, 3)]),
        C("scatternd_rows", 13, "ScatterND", [F("d", 4, 3, 2), Ix("i", [2, 1], 3, -4), F("u", 2, 3, 2)]),
        C("scatternd_elements", 13, "ScatterND", [F("d", 3, 4), Ix("i", [3, 2], 0, 1, 2, 3, -1, 0), F("u", 3)]),
        C("scatternd_add_duplicates", 16, "ScatterND", [F("d", 2, 3, 2), Ix("i", [2, 2, 2], 1, 2, 0, 0, 1, 2, 0, 1), F("u", 2, 2, 2)],
            AS("reduction", "add")),
        // BitShift on uint8 (the only unsigned type DualFramework has), shifting bits out on either side.
        new NodeCase("bitshift_left_uint8", 11, "BitShift", [new NodeIn("x", [5], 2, Vals: [1, 3, 200, 255, 17]), new NodeIn("s", [5], 2, Vals: [1, 2, 1, 7, 0])],
            [AS("direction", "LEFT")], OutType: 2),
        new NodeCase("bitshift_right_uint8", 11, "BitShift", [new NodeIn("x", [5], 2, Vals: [16, 3, 200, 255, 17]), new NodeIn("s", [5], 2, Vals: [2, 1, 3, 7, 0])],
            [AS("direction", "RIGHT")], OutType: 2),
    ];

    private static IEnumerable<NodeCase> Cases() => OpCases;

    [TestCaseSource(nameof(Cases))]
    public void Op_MatchesOnnxRuntime(NodeCase c) => AssertMatchesOnnxRuntime(c, 5000, Torch, GraphBackend);

    [Test]
    public void Resize_LinearHalfPixel_MatchesHandComputedValues()
    {
        using var s = TensorScope.Begin();
        // Along the last axis 2 → 4 with half_pixel: sources −0.25, 0.25, 0.75, 1.25, clamped at the edges.
        var c = C("resize_hand", 13, "Resize", [new NodeIn("x", [1, 2], Vals: [1, 5]), NoRoi, Fk("scales", 1, 2)], AS("mode", "linear"));
        var (bytes, feeds) = Build(c, 1);
        using var model = OnnxImporter.FromBytes(bytes);
        foreach (var backend in new[] { Torch, GraphBackend })
            model.Run(backend, [Tensor.FromBytes(feeds[0].Data, feeds[0].Spec)])[0].ToDoubleArray().Should().Equal(1, 2, 4, 5);
    }

    [Test]
    public void UnsupportedForms_AreReportedAsUnsupported()
    {
        using var s = TensorScope.Begin();
        var cases = new (NodeCase Case, string Message)[]
        {
            (C("scatter_elements_mul", 16, "ScatterElements", [F("d", 2, 3), Ix("i", [1, 1], 0), F("u", 1, 1)], AS("reduction", "mul")), "reduction 'mul' is not supported"),
            (C("scatter_elements_max", 16, "ScatterElements", [F("d", 2, 3), Ix("i", [1, 1], 0), F("u", 1, 1)], AS("reduction", "max")), "reduction 'max' is not supported"),
            (new NodeCase("resize_linear_int64", 13, "Resize", [new NodeIn("x", [1, 1, 2, 2], 7), NoRoi, Fk("scales", 1, 1, 2, 2)], [AS("mode", "linear")], OutType: 7),
                "inputs are supported only by resizes that copy elements"),
            (C("resize_crop_by_scales", 13, "Resize", [F("x", 1, 1, 4, 4), Fk("roi", 0, 0, 0, 0, 1, 1, 1, 1), Fk("scales", 1, 1, 2, 2)],
                AS("coordinate_transformation_mode", "tf_crop_and_resize")), "tf_crop_and_resize with scales is not supported"),
            (C("resize_both_scales_and_sizes", 13, "Resize", [F("x", 1, 1, 2, 2), NoRoi, Fk("scales", 1, 1, 2, 2), K("sizes", 1, 1, 4, 4)]),
                "exactly one of scales and sizes"),
            (C("resize_opset10_nearest_down", 10, "Resize", [F("x", 1, 1, 4, 4), Fk("scales", 1, 1, 0.5, 0.5)]), "nearest downsampling at opset 10"),
            (new NodeCase("bitshift_int32", 11, "BitShift", [new NodeIn("x", [2], 6, Vals: [1, 2]), new NodeIn("y", [2], 6, Vals: [1, 1])],
                [AS("direction", "LEFT")], OutType: 6), "uint8 only"),
        };
        foreach (var (c, msg) in cases)
        {
            var bytes = Build(c, 1).Model;
            FluentActions.Invoking(() => OnnxImporter.FromBytes(bytes)).Should().Throw<OnnxImportException>().WithMessage($"*{msg}*", c.Name);
        }
    }
}
