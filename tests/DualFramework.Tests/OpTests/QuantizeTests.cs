using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.MixedPrecision;
using DualFramework.Operators;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;

/// <summary>quantize_linear, dequantize_linear and fake_quantize against hand-computed values (ties to even, saturation,
/// per-tensor and per-channel), on the torch and graph backends, eagerly and compiled; the straight-through gradient of
/// fake_quantize; shape and dtype errors.</summary>
[TestFixture]
public class QuantizeTests
{
    /// <summary>Backend × compiled: every value test runs in each.</summary>
    public static IEnumerable<TestCaseData> Modes() =>
        from b in new[] { "torch", "graph" }
        from compiled in new[] { false, true }
        select new TestCaseData(b, compiled).SetArgDisplayNames(b, compiled ? "compiled" : "eager");

    private static Tensor On(Tensor t, IComputeBackend b) => Tensor.FromBytes(t.ToBytes(), t.Spec, b);

    /// <summary>Runs <paramref name="f"/> on the backend, through a <see cref="CompiledFunction"/> when asked.</summary>
    private static Tensor Run(string backend, bool compiled, Func<Tensor[], Tensor> f, params Tensor[] args)
    {
        var b = BackendRegistry.Get(backend);
        var xs = args.Select(a => On(a, b)).ToArray();
        if (!compiled) return f(xs);
        using var cf = new CompiledFunction(a => [f(a)]);
        var y = cf.Call(xs)[0];
        cf.TraceCount.Should().Be(1);
        cf.LastGraph!.Dump().Should().Contain("quantize");
        return On(y, BackendRegistry.Get("torch"));
    }

    private static Tensor F32(params float[] v) => Tensor.FromArray(v, new Shape(v.Length));
    private static Tensor F32(float[] v, params long[] shape) => Tensor.FromArray(v, new Shape(shape));
    private static Tensor Scalar<T>(T v) where T : unmanaged => Tensor.FromArray(new[] { v }, Shape.Scalar);
    private static Tensor Vec<T>(params T[] v) where T : unmanaged => Tensor.FromArray(v, new Shape(v.Length));

    [TestCaseSource(nameof(Modes))]
    public void Quantize_int8_ties_to_even_and_saturates(string backend, bool compiled)
    {
        using var s = TensorScope.Begin();
        // x / 0.5 = 2.5, −2.5, 1.5, −1.5, 200, −200, 0, 0.6 → 2, −2, 2, −2, 200, −200, 0, 1; + 1; saturated to [−128, 127].
        var x = F32(1.25f, -1.25f, 0.75f, -0.75f, 100f, -100f, 0f, 0.3f);
        var y = Run(backend, compiled, a => Ops.QuantizeLinear(a[0], a[1], a[2]), x, Scalar(0.5f), Scalar((sbyte)1));
        y.DType.Should().Be(DType.Int8);
        y.ToArray<sbyte>().Should().Equal(3, -1, 3, -1, 127, -128, 1, 2);
    }

    [TestCaseSource(nameof(Modes))]
    public void Quantize_uint8_per_tensor(string backend, bool compiled)
    {
        using var s = TensorScope.Begin();
        // x / 2 = 2.5, −2.5, 1.5, −1.5, 500, −500, 0.45, 3.5 → 2, −2, 2, −2, 500, −500, 0, 4; + 128; saturated to [0, 255].
        var x = F32(5f, -5f, 3f, -3f, 1000f, -1000f, 0.9f, 7f);
        var y = Run(backend, compiled, a => Ops.QuantizeLinear(a[0], a[1], a[2]), x, Scalar(2f), Scalar((byte)128));
        y.DType.Should().Be(DType.UInt8);
        y.ToArray<byte>().Should().Equal(130, 126, 130, 126, 255, 0, 128, 132);
    }

    [TestCaseSource(nameof(Modes))]
    public void Quantize_per_channel_axis0_int8_and_axis1_uint8(string backend, bool compiled)
    {
        using var s = TensorScope.Begin();
        // Row 0: [1.25, −0.75, 70] / 0.5 → [2, −2, 140] + 0 → [2, −2, 127]; row 1: [5, −3, −300] / 2 → [2, −2, −150] − 10 → [−8, −12, −128].
        var x0 = F32([1.25f, -0.75f, 70f, 5f, -3f, -300f], 2, 3);
        var y0 = Run(backend, compiled, a => Ops.QuantizeLinear(a[0], a[1], a[2], axis: 0), x0, Vec(0.5f, 2f), Vec<sbyte>(0, -10));
        y0.ToArray<sbyte>().Should().Equal(2, -2, 127, -8, -12, -128);
        // Column 0 (scale 1, zp 3): [0.5, −4] → [0, −4] + 3 → [3, 0 (saturated)]; column 1 (scale 0.25, zp 250): [0.375, 2] → [2, 8] + 250 → [252, 255].
        var x1 = F32([0.5f, 0.375f, -4f, 2f], 2, 2);
        var y1 = Run(backend, compiled, a => Ops.QuantizeLinear(a[0], a[1], a[2], axis: -1), x1, Vec(1f, 0.25f), Vec<byte>(3, 250));
        y1.ToArray<byte>().Should().Equal(3, 252, 0, 255);
    }

    [TestCaseSource(nameof(Modes))]
    public void Quantize_float64_and_float16_inputs(string backend, bool compiled)
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(new[] { 0.375, -0.375, 1.0, 1e300 }, new Shape(4));
        // / 0.25 → 1.5, −1.5, 4, huge → 2, −2, 4, saturated; no zero point is uint8 0.
        Run(backend, compiled, a => Ops.QuantizeLinear(a[0], a[1]), x, Scalar(0.25)).ToArray<byte>().Should().Equal(2, 0, 4, 255);
        var h = Tensor.FromArray(new[] { (Half)2.5, (Half)(-2.5), (Half)3.5, (Half)(-0.5) }, new Shape(4));
        Run(backend, compiled, a => Ops.QuantizeLinear(a[0], a[1], a[2]), h, Tensor.FromArray(new[] { (Half)1 }, Shape.Scalar), Scalar((sbyte)0))
            .ToArray<sbyte>().Should().Equal(2, -2, 4, 0);
    }

    [TestCaseSource(nameof(Modes))]
    public void Dequantize_int8_uint8_per_channel_and_int32(string backend, bool compiled)
    {
        using var s = TensorScope.Begin();
        var q = Vec<sbyte>(-128, -1, 0, 127);
        Run(backend, compiled, a => Ops.DequantizeLinear(a[0], a[1], a[2]), q, Scalar(0.5f), Scalar((sbyte)-1))
            .ToArray<float>().Should().Equal(-63.5f, 0f, 0.5f, 64f);
        var qu = Tensor.FromArray(new byte[] { 0, 255, 10, 128 }, new Shape(2, 2));
        var y = Run(backend, compiled, a => Ops.DequantizeLinear(a[0], a[1], a[2], axis: 1), qu, Vec(0.1f, 2f), Vec<byte>(10, 128));
        // float32 products of the exact integer differences.
        y.ToArray<float>().Should().Equal((0 - 10) * 0.1f, (255 - 128) * 2f, (10 - 10) * 0.1f, (128 - 128) * 2f);
        Run(backend, compiled, a => Ops.DequantizeLinear(a[0], a[1]), Vec(1000, -7), Scalar(0.25f)).ToArray<float>().Should().Equal(250f, -1.75f);
    }

    [TestCaseSource(nameof(Modes))]
    public void Fake_quantize_values(string backend, bool compiled)
    {
        using var s = TensorScope.Begin();
        // int8 range, zp 1: q = [3, −1, 3, 201, −199, 2] → clamped [3, −1, 3, 127, −128, 2] → (q − 1)·0.5.
        var x = F32(1.25f, -1.25f, 0.75f, 100f, -100f, 0.3f);
        Run(backend, compiled, a => Ops.FakeQuantize(a[0], a[1], a[2], -128, 127), x, Scalar(0.5f), Scalar(1))
            .ToArray<float>().Should().Equal(1f, -1f, 1f, 63f, -64.5f, 0.5f);
        // 4-bit [0, 15], zp 8: q = [10, 6, 18, −2, 8, 15] → [10, 6, 15, 0, 8, 15] → (q − 8)·0.5.
        var x4 = F32(1.25f, -1.25f, 5f, -5f, 0f, 3.6f);
        Run(backend, compiled, a => Ops.FakeQuantize(a[0], a[1], a[2], 0, 15), x4, Scalar(0.5f), Scalar(8L))
            .ToArray<float>().Should().Equal(1f, -1f, 3.5f, -4f, 0f, 3.5f);
        // Per channel along axis 1, range [−2, 2]: column 0 (0.5): [0.75, −1.6] → [2, −3→−2] → [1, −1]; column 1 (0.25): [0.125, 0.3] → [0, 1] → [0, 0.25].
        var xc = F32([0.75f, 0.125f, -1.6f, 0.3f], 2, 2);
        Run(backend, compiled, a => Ops.FakeQuantize(a[0], a[1], a[2], -2, 2, axis: 1), xc, Vec(0.5f, 0.25f), Vec(0, 0))
            .ToArray<float>().Should().Equal(1f, 0f, -1f, 0.25f);
        // float64 with a range beyond 8 bits (the decomposed lowering): q = [2·10⁶ + 3, −3] within ±10⁷.
        var xd = Tensor.FromArray(new[] { 1000.0015, -0.0015, 1e9 }, new Shape(3));
        Run(backend, compiled, a => Ops.FakeQuantize(a[0], 0.0005, 0, -10_000_000, 10_000_000), xd)
            .ToArray<double>().Should().Equal(2_000_003 * 0.0005, -3 * 0.0005, 10_000_000 * 0.0005);
    }

    [Test]
    public void Fake_quantize_is_dequantize_of_quantize_on_random_ties()
    {
        using var s = TensorScope.Begin();
        var rng = new Random(7);
        // Multiples of scale/2 put many x/scale on exact ties.
        var x = Enumerable.Range(0, 400).Select(_ => rng.Next(-600, 600) * 0.125f).ToArray();
        var xt = F32(x);
        foreach (var backend in new[] { "torch", "graph" })
        {
            var b = BackendRegistry.Get(backend);
            var q = Ops.QuantizeLinear(On(xt, b), On(Scalar(0.25f), b), On(Scalar((sbyte)-4), b)).ToArray<sbyte>();
            var expected = x.Select(v => (sbyte)Math.Clamp(MathF.Round(v / 0.25f, MidpointRounding.ToEven) - 4, -128, 127)).ToArray();
            q.Should().Equal(expected, backend);
            var fq = Ops.FakeQuantize(On(xt, b), On(Scalar(0.25f), b), On(Scalar(-4), b), -128, 127).ToArray<float>();
            fq.Should().Equal(expected.Select(v => (v + 4) * 0.25f), backend);
        }
    }

    /// <summary>The STE rule: upstream gradient where quant_min ≤ round(x/scale) + zp ≤ quant_max, else 0 (boundaries kept).</summary>
    private static float[] SteGrad(float[] x, float scale, long zp, long lo, long hi, float[] upstream) =>
        x.Select((v, i) =>
        {
            var q = MathF.Round(v / scale, MidpointRounding.ToEven) + zp;
            return q >= lo && q <= hi ? upstream[i] : 0f;
        }).ToArray();

    [TestCase("torch", false)]
    [TestCase("torch", true)]
    [TestCase("graph", false)]
    public void Fake_quantize_gradient_is_the_straight_through_estimator(string backend, bool tape)
    {
        using var s = TensorScope.Begin();
        using var mode = tape ? Autograd.UseTape() : null;
        var b = BackendRegistry.Get(backend);
        // 63.75 / 0.5 = 127.5 → 128 (tie to even) + 0 → clamped: no gradient; 63.7 → 127: kept; −64.25 → −128.5 → −128: kept.
        var xv = new[] { 0.3f, -1.2f, 63.75f, 63.7f, -64.25f, -64.3f, 100f, float.PositiveInfinity };
        var w = new[] { 1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f };
        var x = On(F32(xv), b);
        x.RequiresGrad = true;
        var y = Ops.FakeQuantize(x, On(Scalar(0.5f), b), On(Scalar(0), b), -128, 127);
        var loss = Ops.Sum(Ops.Mul(y, On(F32(w), b)));
        var g = Autograd.Grad([loss], [x])[0]!.ToArray<float>();
        g.Should().Equal(SteGrad(xv, 0.5f, 0, -128, 127, w));
        g.Should().Equal(new[] { 1f, 2f, 0f, 4f, 5f, 0f, 0f, 0f }, "hand-computed mask");
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void Fake_quantize_gradient_per_channel_compiled(string backend)
    {
        using var s = TensorScope.Begin();
        var b = BackendRegistry.Get(backend);
        using var f = new CompiledFunction(a =>
        {
            var x = a[0];
            x.RequiresGrad = true;
            var y = Ops.FakeQuantize(x, a[1], a[2], 0, 15, axis: 0);
            return [Autograd.Grad([Ops.Sum(Ops.Mul(y, a[3]))], [x])[0]!];
        });
        // Row 0 (scale 1, zp 8): q = x + 8 → [8, 23, −1] kept, clamped, clamped; row 1 (scale 0.5, zp 0): q = [3, 31, 0] → kept, clamped, kept.
        var x = F32([0f, 15f, -9f, 1.5f, 15.5f, 0.2f], 2, 3);
        var w = F32([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var g = f.Call(On(x, b), On(Vec(1f, 0.5f), b), On(Vec(8, 0), b), On(w, b))[0].ToArray<float>();
        g.Should().Equal(1f, 0f, 0f, 4f, 0f, 6f);
    }

    [Test]
    public void Autocast_categories()
    {
        OpSet.FakeQuantize.Autocast.Should().Be(AutocastCategory.Float32);
        OpSet.QuantizeLinear.Autocast.Should().Be(AutocastCategory.Passthrough);
        OpSet.DequantizeLinear.Autocast.Should().Be(AutocastCategory.Passthrough);
        OpSet.QuantizeLinear.IsDifferentiable.Should().BeFalse();
        OpSet.DequantizeLinear.IsDifferentiable.Should().BeFalse();
        OpSet.FakeQuantize.IsDifferentiable.Should().BeTrue();
    }

    [Test]
    public void Shape_and_dtype_errors()
    {
        using var s = TensorScope.Begin();
        var x = F32([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        void Throws(Action a, string message) => FluentActions.Invoking(a).Should().Throw<OpException>().WithMessage(message);
        Throws(() => Ops.QuantizeLinear(x, Vec(1f, 2f), Scalar((sbyte)0)), "quantize_linear*scale [2] and zero point [] must have one shape*");
        Throws(() => Ops.QuantizeLinear(x, Vec(1f, 2f), Vec<sbyte>(0, 0), axis: 1), "quantize_linear*per-channel scale has 2 entries, the operand has 3 along axis 1*");
        Throws(() => Ops.QuantizeLinear(x, Vec(1f, 2f), Vec<sbyte>(0, 0), axis: 2), "quantize_linear*axis 2 is out of range for rank 2*");
        Throws(() => Ops.QuantizeLinear(x, F32([1f, 2f], 1, 2), Tensor.FromArray(new sbyte[2], new Shape(1, 2))), "quantize_linear*scalar (per-tensor) or 1-D*");
        Throws(() => Ops.QuantizeLinear(x, Scalar(1f), Scalar(0)), "quantize_linear*zero point must be int8 or uint8, got int32*");
        Throws(() => Ops.QuantizeLinear(Vec(1, 2), Scalar(1f), Scalar((sbyte)0)), "quantize_linear*x must be floating, got int32*");
        Throws(() => Ops.DequantizeLinear(Vec(1L, 2L), Scalar(1f)), "dequantize_linear*q must be int8, uint8 or int32, got int64*");
        Throws(() => Ops.DequantizeLinear(Vec<sbyte>(1, 2), Scalar(1f), Scalar((byte)0)), "dequantize_linear*zero point must have q's dtype int8, got uint8*");
        Throws(() => Ops.DequantizeLinear(Vec<sbyte>(1, 2), Scalar(1), Scalar((sbyte)0)), "dequantize_linear*scale must be floating, got int32*");
        Throws(() => Ops.FakeQuantize(x, Scalar(1f), Scalar(0), 5, 4), "fake_quantize*quant_min 5 is larger than quant_max 4*");
        Throws(() => Ops.FakeQuantize(x, Scalar(1f), Scalar(0f), 0, 255), "fake_quantize*zero point must have an integer dtype, got float32*");
        // The zero point's value is data: the torch backend checks it as PyTorch does.
        Throws(() => Ops.FakeQuantize(x, Scalar(1f), Scalar(300), 0, 255).ToArray<float>(), "fake_quantize*zero point 300 is outside*[0, 255]*");
    }
}
