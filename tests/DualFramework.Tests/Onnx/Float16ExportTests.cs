using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using DualFramework.Tests.NN;
using FluentAssertions;
using Google.Protobuf;
using NUnit.Framework;
using DataType = DualFramework.Onnx.Proto.TensorProto.Types.DataType;

namespace DualFramework.Tests.Onnx;

/// <summary>The rules of <see cref="ModuleExportOptions.WeightsDType"/> and <see cref="ModuleExportOptions.InputOutputDType"/>.</summary>
[TestFixture]
public class Float16ExportTests
{
    private const int Width = 64;

    /// <summary>One initializer per rule: large float32, out-of-range float32, small float32, float64, int64.</summary>
    private sealed class Mixed : Module
    {
        public Mixed()
        {
            Wide = RegisterParameter("wide", Tensor.FromArray(NNRef.RandF(1, Width, -3, 3), new Shape(Width)));
            var huge = NNRef.RandF(2, Width, -1, 1);
            huge[5] = 1e5f; // beyond float16's largest finite value (65504)
            Huge = RegisterParameter("huge", Tensor.FromArray(huge, new Shape(Width)));
            Small = RegisterParameter("small", Tensor.FromArray(new[] { 3e-10f }, new Shape(1))); // flushes to 0 in float16
            Dbl = RegisterBuffer("dbl", Tensor.FromArray(NNRef.Rand(3, Width), new Shape(Width)));
            Idx = RegisterBuffer("idx", Tensor.FromArray(Enumerable.Range(0, Width).Select(i => (long)i * 1000).ToArray(), new Shape(Width)));
        }

        public Variable Wide { get; }
        public Variable Huge { get; }
        public Variable Small { get; }
        public Variable Dbl { get; }
        public Variable Idx { get; }

        public override Tensor Forward(Tensor x) =>
            x * Wide.Value + x * Huge.Value + (x.To(DType.Float64) * Dbl.Value).To(DType.Float32) + Idx.Value.To(DType.Float32) + Small.Value;
    }

    private static Tensor Input() => Tensor.FromArray(NNRef.RandF(4, 3 * Width, -2, 2), new Shape(3, Width));

    // Unoptimized, so that constant folding cannot turn the int64/float64 buffers into float32 constants.
    private static ModuleExportOptions Options(DType? weights = null, DType? io = null) =>
        new() { Optimize = false, WeightsDType = weights, InputOutputDType = io };

    private static TensorProto Init(ModelProto m, string name) => m.Graph.Initializer.Single(t => t.Name == name);

    [Test]
    public void Only_large_in_range_float32_initializers_become_float16_behind_a_cast()
    {
        using var s = TensorScope.Begin();
        using var model = new Mixed();
        var f32 = ModuleExporter.ToModel(model, [Input()], Options());
        var f16 = ModuleExporter.ToModel(model, [Input()], Options(DType.Float16));

        var wide = Init(f16, "wide");
        ((DataType)wide.DataType).Should().Be(DataType.Float16);
        var expected = model.Wide.Value.ToFloatArray().SelectMany(v => BitConverter.GetBytes(BitConverter.HalfToUInt16Bits((Half)v))).ToArray();
        wide.RawData.ToByteArray().Should().Equal(expected, "round to nearest float16");
        var cast = f16.Graph.Node.Single(n => n.Input.Contains("wide"));
        cast.OpType.Should().Be("Cast");
        cast.Attribute.Single(a => a.Name == "to").I.Should().Be((long)DataType.Float);
        f16.Graph.Node.Should().NotContain(n => n.OpType != "Cast" && n.Input.Contains("wide"), "every consumer reads the float32 cast");
        f16.Graph.Node.IndexOf(cast).Should().BeLessThan(f16.Graph.Node.IndexOf(f16.Graph.Node.First(n => n.Input.Contains(cast.Output[0]))));

        foreach (var (name, type) in new[] { ("huge", DataType.Float), ("small", DataType.Float), ("dbl", DataType.Double), ("idx", DataType.Int64) })
        {
            var t = Init(f16, name);
            ((DataType)t.DataType).Should().Be(type, name);
            t.RawData.Should().Equal(Init(f32, name).RawData, $"{name} is stored untouched");
            f16.Graph.Node.SelectMany(n => n.Output).Should().NotContain(name + "_float32", $"{name} needs no cast");
        }
    }

    [Test]
    public void Float16_weights_run_in_onnx_runtime_within_the_rounding_of_each_weight()
    {
        using var s = TensorScope.Begin();
        using var model = new Mixed();
        var x = Input();
        var feed = new OrtHarness.HostTensor(x.Spec, OrtHarness.Bytes(x));
        var want = OrtHarness.Run(ModuleExporter.ToModel(model, [x], Options()).ToByteArray(), [feed])[0].ToDoubles();
        var got = OrtHarness.Run(ModuleExporter.ToModel(model, [x], Options(DType.Float16)).ToByteArray(), [feed])[0].ToDoubles();

        // Only "wide" is rounded: |Δy| ≤ |x|·|Δwide| (≤ 2^-11·|x·wide|), plus the float32 rounding of each run's four
        // additions and products (≤ 2^-24 of the largest partial sum each, bounded by the sum of the terms' magnitudes).
        var xs = x.ToDoubleArray();
        var w = model.Wide.Value.ToFloatArray();
        var huge = model.Huge.Value.ToDoubleArray();
        var dbl = model.Dbl.Value.ToDoubleArray();
        double maxDiff = 0;
        for (int i = 0; i < want.Length; i++)
        {
            double dw = Math.Abs((double)(float)(Half)w[i % Width] - w[i % Width]);
            int j = i % Width;
            double terms = Math.Abs(xs[i]) * (Math.Abs(w[j]) + Math.Abs(huge[j]) + Math.Abs(dbl[j])) + 1000.0 * j + 1;
            double bound = Math.Abs(xs[i]) * dw + 2 * 6 * Math.Pow(2, -24) * terms;
            double.IsFinite(got[i]).Should().BeTrue($"element {i}: the out-of-range initializer stays float32, not infinity");
            Math.Abs(got[i] - want[i]).Should().BeLessThanOrEqualTo(bound, $"element {i}");
            maxDiff = Math.Max(maxDiff, Math.Abs(got[i] - want[i]));
        }
        maxDiff.Should().BeGreaterThan(0, "the rounded weights change the result");
    }

    [Test]
    public void Float16_inputs_and_outputs_are_cast_at_the_graph_edges()
    {
        using var s = TensorScope.Begin();
        using var model = new Mixed();
        var x = Input();
        var m = ModuleExporter.ToModel(model, [x], Options(DType.Float16, DType.Float16));
        m.Graph.Input.Single().Name.Should().Be("input");
        ((DataType)m.Graph.Input.Single().Type.TensorType.ElemType).Should().Be(DataType.Float16);
        m.Graph.Output.Single().Name.Should().Be("output");
        ((DataType)m.Graph.Output.Single().Type.TensorType.ElemType).Should().Be(DataType.Float16);

        // Reference: the float32 export fed the same (float16-representable) input.
        var halves = x.ToFloatArray().Select(v => (Half)v).ToArray();
        var x32 = Tensor.FromArray(halves.Select(h => (float)h).ToArray(), x.Shape);
        var want = OrtHarness.Run(ModuleExporter.ToModel(model, [x], Options(DType.Float16)).ToByteArray(), [new(x32.Spec, OrtHarness.Bytes(x32))])[0].ToDoubles();
        var feed = new OrtHarness.HostTensor(new TensorSpec(x.Shape, DType.Float16), halves.SelectMany(h => BitConverter.GetBytes(BitConverter.HalfToUInt16Bits(h))).ToArray());
        var out16 = OrtHarness.Run(m.ToByteArray(), [feed])[0];
        out16.Spec.DType.Should().Be(DType.Float16);
        var got = Enumerable.Range(0, want.Length).Select(i => (double)BitConverter.UInt16BitsToHalf(BitConverter.ToUInt16(out16.Data, 2 * i))).ToArray();
        for (int i = 0; i < want.Length; i++)
            got[i].Should().Be((double)(Half)want[i], $"element {i}: the float32 result rounded once to float16");
    }

    [Test]
    public void Default_export_keeps_float32_and_other_dtypes_are_rejected()
    {
        using var s = TensorScope.Begin();
        using var model = new Mixed();
        var m = ModuleExporter.ToModel(model, [Input()], Options());
        m.Graph.Initializer.Should().NotContain(t => t.DataType == (int)DataType.Float16);
        ((DataType)m.Graph.Input.Single().Type.TensorType.ElemType).Should().Be(DataType.Float);
        foreach (var bad in new[] { Options(DType.Float64), Options(DType.BFloat16), Options(io: DType.Int8) })
            ((Action)(() => ModuleExporter.ToModel(model, [Input()], bad))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Test]
    public void Float16_exports_pass_the_onnx_checker_inline_and_with_external_data()
    {
        OnnxChecker.SkipWhenUnavailable();
        var dir = Path.Combine(Path.GetTempPath(), "df_fp16_check_" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            using var s = TensorScope.Begin();
            using var model = new Mixed();
            ModuleExporter.Export(model, Input(), Path.Combine(dir, "weights.onnx"), Options(DType.Float16));
            ModuleExporter.Export(model, Input(), Path.Combine(dir, "io.onnx"), Options(DType.Float16, DType.Float16));
            ModuleExporter.Export(model, Input(), Path.Combine(dir, "external.onnx"), Options(DType.Float16) with { ExternalDataThreshold = 64 });
            File.Exists(Path.Combine(dir, "external.onnx.data")).Should().BeTrue();
            OnnxChecker.CheckDirectory(dir);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
