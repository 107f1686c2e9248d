using DualFramework.Backends;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using DualFramework.Optim;
using DualFramework.Quantization;
using DualFramework.Quantization.Qat;
using DualFramework.Tests.Onnx;
using DualFramework.Tests.Support;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Quantization;

/// <summary>Quantization-aware training (docs/quantization.md ("Quantization-aware training")): observer and fake-quant values against hand computations in float32,
/// placement, state dicts, eval freezing, training on both backends (graph compiled), and the QDQ export checked by
/// onnx.checker and run in ONNX Runtime.</summary>
[TestFixture]
public class QatTests
{
    private static Tensor T(float[] v, params long[] shape) => Tensor.FromArray(v, new Shape(shape.Length == 0 ? [v.Length] : shape));

    // (clamp(round(x/s) + z, lo, hi) − z)·s in float32, halves to even: the fake-quant formula computed by hand.
    private static float Fq(float x, float s, float z, float lo, float hi) => (Math.Clamp(MathF.Round(x / s) + z, lo, hi) - z) * s;

    [Test]
    public void Activation_observer_follows_the_moving_average_and_the_qparams_formulas()
    {
        using var scope = TensorScope.Begin();
        using var fq = new ActivationFakeQuantize();
        fq.MinVal.Value.Item().Should().Be(double.PositiveInfinity);
        // The first batch sets the range; the second moves it by 1% towards the batch's.
        fq.Call(T([-1f, 0.5f, 2f, 3f]));
        fq.MinVal.Value.Item().Should().Be(-1);
        fq.MaxVal.Value.Item().Should().Be(3);
        var x = new[] { 0f, 1f, 5f, 0.25f, -3f, 2.7f };
        var y = fq.Call(T(x)).ToFloatArray();
        float lo = -1f + (-3f - -1f) * 0.01f, hi = 3f + (5f - 3f) * 0.01f; // batch range [-3, 5]
        ((float)fq.MinVal.Value.Item()).Should().Be(lo);
        ((float)fq.MaxVal.Value.Item()).Should().Be(hi);
        float s = (hi - lo) / 255f, z = -MathF.Round(lo / s);
        var (scale, zp) = fq.QParams();
        ((float)scale.Item()).Should().Be(s);
        zp.DType.Should().Be(DType.UInt8);
        zp.Item().Should().Be(z);
        for (int i = 0; i < x.Length; i++) y[i].Should().Be(Fq(x[i], s, z, 0, 255), $"element {i} ({x[i]})");
        y[0].Should().Be(0f, "0 is exactly representable: it quantizes to the zero point");
        y[4].Should().Be((0 - z) * s, "values below the range clamp to its low end");
    }

    [Test]
    public void Activation_ranges_contain_zero_and_start_at_scale_one()
    {
        using var scope = TensorScope.Begin();
        using var fresh = new ActivationFakeQuantize().Eval();
        // Nothing observed: scale 1, zero point 0 (PyTorch's default qparams), so this rounds and clamps to [0, 255].
        fresh.Call(T([-0.6f, 0.4f, 1.5f, 300f])).ToFloatArray().Should().Equal(0f, 0f, 2f, 255f);
        using var positive = new ActivationFakeQuantize();
        positive.Call(T([1f, 2f]));
        var (scale, zp) = positive.QParams();
        zp.Item().Should().Be(0, "a positive range is widened to [0, max]");
        ((float)scale.Item()).Should().Be(2f / 255f);
        using var int8 = new ActivationFakeQuantize(new QatOptions { ActivationQuantMin = -128, ActivationQuantMax = 127 });
        int8.Call(T([-2f, 6f]));
        var (s8, z8) = int8.QParams();
        z8.DType.Should().Be(DType.Int8);
        z8.Item().Should().Be(-128 - MathF.Round(-2f / (8f / 255f)));
        ((float)s8.Item()).Should().Be(8f / 255f);
    }

    [Test]
    public void Weight_fake_quant_is_per_channel_symmetric_with_a_narrow_int8_range()
    {
        using var scope = TensorScope.Begin();
        using var fq = new WeightFakeQuantize();
        // Channels: mixed signs, all zeros (scale = eps), and one whose extreme is negative; rank 4 as a Conv2d weight.
        var w = new[] { 0.5f, -1.27f, 0.3f, 0.01f, 0f, 0f, 0f, 0f, -2f, 1f, 0.013f, 1.99f };
        var y = fq.Call(T(w, 3, 1, 2, 2)).ToFloatArray();
        var (scale, zp) = fq.QParams(T(w, 3, 1, 2, 2));
        zp.ToDoubleArray().Should().Equal(0, 0, 0);
        var s = new[] { 1.27f / 127f, 1.1920928955078125e-07f, 2f / 127f };
        scale.ToFloatArray().Should().Equal(s);
        for (int i = 0; i < w.Length; i++)
        {
            y[i].Should().Be(Fq(w[i], s[i / 4], 0, -127, 127), $"element {i}");
            Math.Abs(y[i] - w[i]).Should().BeLessThanOrEqualTo(s[i / 4] / 2 * 1.0001f, "no weight is clipped");
        }
        y[8].Should().Be(-2f, "the channel's extreme maps to -127, exactly");
    }

    // SmallCnn's first convolution is 1-channel 3×3 (depth 9), which the default MinConvDepth leaves float: these tests
    // prepare every layer.
    private static readonly QatOptions All = new() { MinConvDepth = 0 };

    // The quantizer step of a prepared layer's input, and a prepared layer's max row sum of |W_q| and largest weight scale.
    private static double Step(Sequential net, int layer) => ((ActivationFakeQuantize)((ITransformableLayer)net[layer]).InputTransform!).QParams().Scale.Item();

    private static (double RowSum, double MaxScale) Weights(Sequential net, int layer, int rows)
    {
        var l = (ITransformableLayer)net[layer];
        var wq = l.WeightTransform!.Call(l.Weight.Value).ToFloatArray();
        int cols = wq.Length / rows;
        var scale = ((WeightFakeQuantize)l.WeightTransform!).QParams(l.Weight.Value).Scale.ToFloatArray();
        return (Enumerable.Range(0, rows).Max(j => wq.Skip(j * cols).Take(cols).Sum(v => Math.Abs((double)v))), scale.Max());
    }

    // Error model of SmallCnn's QDQ file against eval mode, layer by layer: the error entering layer 4's input quantizer is
    // `first` (bias quantization and rounding before it); a perturbation smaller than a step moves a quantizer's output by at
    // most one step; each quantized layer multiplies the error by its largest |W_q| row sum and adds half a step of its
    // int32 bias (s_in·s_w,c/2) and float32 rounding.
    private static double ChainBound(Sequential net, double first, double rounding)
    {
        var (r4, w4) = Weights(net, 4, 64);
        var (r6, w6) = Weights(net, 6, 10);
        double e1 = first + Step(net, 4);                                          // first Relu's quantized output
        double e2 = e1 * r4 + Step(net, 4) * w4 / 2 + rounding + Step(net, 6);    // second Relu's quantized output
        return e2 * r6 + Step(net, 6) * w6 / 2 + rounding;
    }

    // Node by node, with the tracer's value names (%12, _t3: numbering differs with the traced modules) numbered in order.
    private static string Nodes(ModelProto m)
    {
        var ids = new Dictionary<string, string>();
        string Id(string v) => v.StartsWith('%') || v.StartsWith("_t") ? ids.TryGetValue(v, out var id) ? id : ids[v] = $"v{ids.Count}" : v;
        return string.Join("\n", m.Graph.Node.Select(n => $"{n.OpType}({string.Join(", ", n.Input.Select(Id))}) -> {string.Join(", ", n.Output.Select(Id))}"));
    }

    private static Sequential SmallCnn(long seed)
    {
        var rng = new SeededRandom(seed);
        return new Sequential(new Conv2d(1, 8, 3, padding: 1, rng: rng), new ReLU(), new MaxPool2d(2), new Flatten(),
            new Linear(8 * 8 * 8, 64, rng: rng), new ReLU(), new Linear(64, 10, rng: rng));
    }

    [Test]
    public void Prepare_places_fake_quant_on_weights_and_inputs_and_keeps_names()
    {
        using var scope = TensorScope.Begin();
        using var net = SmallCnn(1);
        var before = net.StateDict().Keys.ToList();
        long parameters = net.ParameterCount();
        using (var defaults = SmallCnn(1))
            Qat.Prepare(defaults).Should().Equal(["4", "6"], "the 1-channel 3×3 convolution (depth 9 < MinConvDepth 16) stays float");
        Qat.Prepare(net, All).Should().Equal("0", "4", "6");
        net.ParameterCount().Should().Be(parameters, "observers hold buffers, not parameters");
        var keys = net.StateDict().Keys.ToList();
        keys.Should().StartWith(before.Where(k => k.StartsWith('0'))).And.Contain(before);
        keys.Except(before).Should().BeEquivalentTo("0.input_transform.min_val", "0.input_transform.max_val",
            "4.input_transform.min_val", "4.input_transform.max_val", "6.input_transform.min_val", "6.input_transform.max_val");
        foreach (var i in new[] { 0, 4, 6 })
        {
            var l = (ITransformableLayer)net[i];
            l.InputTransform.Should().BeOfType<ActivationFakeQuantize>();
            l.WeightTransform.Should().BeOfType<WeightFakeQuantize>();
        }
        var twice = () => Qat.Prepare(net, All);
        twice.Should().Throw<QuantizationException>().WithMessage("*already has transforms*");
        var none = () => Qat.Prepare(new Sequential(new ReLU()));
        none.Should().Throw<QuantizationException>();
        using var partial = SmallCnn(1);
        Qat.Prepare(partial, new QatOptions { Filter = (_, m) => m is Linear }).Should().Equal("4", "6");

        // The last layer computes Linear(fq_act(x), fq_w(W), b) with the hand formulas.
        net.Eval();
        var last = (Linear)net[6];
        var x = Ops.RandomNormal(new Shape(2, 64), seed: 4);
        var act = (ActivationFakeQuantize)last.InputTransform!;
        act.MinVal.Assign(Ops.Full(Shape.Scalar, -1.5));
        act.MaxVal.Assign(Ops.Full(Shape.Scalar, 2.5));
        var y = last.Call(x).ToFloatArray();
        float s = 4f / 255f, z = -MathF.Round(-1.5f / s);
        var xs = x.ToFloatArray();
        var w = last.Weight.Value.ToFloatArray();
        var b = last.Bias!.Value.ToFloatArray();
        for (int o = 0; o < 10; o++)
        {
            float ws = w.Skip(o * 64).Take(64).Max(Math.Abs) / 127f;
            for (int n = 0; n < 2; n++)
            {
                double e = b[o];
                for (int k = 0; k < 64; k++) e += (double)Fq(xs[n * 64 + k], s, z, 0, 255) * Fq(w[o * 64 + k], ws, 0, -127, 127);
                y[n * 10 + o].Should().BeApproximately((float)e, 1e-5f, $"output [{n}, {o}]");
            }
        }
    }

    [Test]
    public void Observers_update_only_in_training_mode_and_round_trip_through_state_dicts()
    {
        using var scope = TensorScope.Begin();
        using var net = SmallCnn(2);
        Qat.Prepare(net, All);
        var x = Ops.RandomNormal(new Shape(4, 1, 16, 16), seed: 5);
        net.Call(x);
        var act = (ActivationFakeQuantize)((Conv2d)net[0]).InputTransform!;
        double lo = act.MinVal.Value.Item(), hi = act.MaxVal.Value.Item();
        lo.Should().BeNegative();
        hi.Should().BePositive();
        net.Call(Ops.Mul(x, 3));
        act.MinVal.Value.Item().Should().BeLessThan(lo, "training mode moves the range towards the wider batch");

        net.Eval();
        var frozen = net.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToDoubleArray());
        var y = net.Call(x).ToFloatArray();
        net.Call(Ops.Mul(x, 10));
        foreach (var (k, v) in net.StateDict()) v.ToDoubleArray().Should().Equal(frozen[k], $"{k} is frozen in eval mode");
        net.Call(x).ToFloatArray().Should().Equal(y);

        using var copy = SmallCnn(9);
        Qat.Prepare(copy, All);
        copy.LoadStateDict(net.StateDict());
        copy.Eval();
        copy.Call(x).ToFloatArray().Should().Equal(y, "weights and observer ranges came with the state dict");
        ((ActivationFakeQuantize)((Conv2d)copy[0]).InputTransform!).MinVal.Value.Item().Should().Be(frozen["0.input_transform.min_val"][0]);
    }

    private static (History History, Trainer Trainer, Module Model, Sgd Opt) FitQat(string backend)
    {
        using (BackendRegistry.Use(BackendRegistry.Get(backend)))
        {
            var rng = new SeededRandom(5);
            var model = new Sequential(new Linear(8, 16, rng: rng), new ReLU(), new Linear(16, 4, rng: rng));
            Qat.Prepare(model);
            var opt = new Sgd(model.Parameters(), 0.05, momentum: 0.9);
            var trainer = new Trainer(model);
            trainer.Compile(opt, new CrossEntropyLoss());
            var history = trainer.Fit(ClusterData.Batches(1), 2);
            return (history, trainer, model, opt);
        }
    }

    [Test]
    public void Qat_fine_tuning_matches_on_eager_torch_and_compiled_graph()
    {
        var (ht, tt, mt, ot) = FitQat("torch");
        var (hg, tg, mg, og) = FitQat("graph");
        using (mt) using (ot) using (mg) using (og) using (tt) using (tg)
        {
            tg.CompiledTrainStep.Should().NotBeNull("the graph backend compiles its train step, observer updates included");
            for (int e = 0; e < 2; e++)
            {
                TestContext.Progress.WriteLine($"epoch {e}: loss torch {ht["loss"][e]:R}, graph {hg["loss"][e]:R}");
                Math.Abs(hg["loss"][e] - ht["loss"][e]).Should().BeLessThanOrEqualTo(LossTolerance, $"loss at epoch {e}");
            }
            var pt = mt.StateDict();
            foreach (var (name, value) in mg.StateDict().Where(kv => kv.Key.Contains("input_transform")))
            {
                double g = value.Item(), t = pt[name].Item();
                TestContext.Progress.WriteLine($"{name}: torch {t:R}, graph {g:R}");
                double.IsFinite(g).Should().BeTrue($"{name} was updated by the compiled step");
                Math.Abs(g - t).Should().BeLessThanOrEqualTo(BufferTolerance * Math.Max(1, Math.Abs(t)), name);
            }
        }
    }

    [Test]
    public void Convert_with_default_options_writes_what_post_training_quantization_writes_by_default()
    {
        var dir = QuantTestSupport.TempDir("qat_defaults");
        try
        {
            using var scope = TensorScope.Begin();
            using var net = SmallCnn(4);
            using var plain = SmallCnn(4);
            Qat.Prepare(net).Should().Equal("4", "6");
            for (ulong i = 0; i < 3; i++) net.Call(Ops.RandomNormal(new Shape(8, 1, 16, 16), seed: 30 + i));
            net.Eval();
            var x = Ops.RandomNormal(new Shape(2, 1, 16, 16), seed: 40);
            string path = Path.Combine(dir, "qat.onnx"), floatPath = Path.Combine(dir, "float.onnx"), ptqPath = Path.Combine(dir, "ptq.onnx");
            var model = Qat.Convert(net, x, path);
            ModuleExporter.Export(plain, x, floatPath);
            var calibration = Enumerable.Range(0, 8).Select(i => Ops.RandomNormal(new Shape(1, 16, 16), seed: 50 + (ulong)i).ToFloatArray());
            var ptq = Quantizer.QuantizeStatic(floatPath, ptqPath, calibration, new StaticQuantizationOptions { Format = QuantizationFormat.U8S8, ReduceRange = false });
            ptq.FloatNodes.Should().ContainSingle().Which.Should().Contain("MinConvDepth");
            Nodes(model).Should().Be(Nodes(QuantTestSupport.Load(ptqPath)), "the float first convolution, its pooling moved before its Relu, and the quantized rest");
            var ort = OrtHarness.Run(File.ReadAllBytes(path), [new OrtHarness.HostTensor(x.Spec, x.ToBytes())])[0].ToDoubles();
            var expected = net.Call(x).ToFloatArray();
            // The first layer is float in both: only float32 rounding reaches the first quantizer.
            double rounding = 1e-5 * expected.Max(v => Math.Abs(v));
            double maxDiff = expected.Zip(ort).Max(p => Math.Abs(p.First - p.Second));
            maxDiff.Should().BeLessThanOrEqualTo(ChainBound(net, rounding, rounding));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    // Measured: losses 4e-8 apart after epoch 1 and identical after epoch 2, buffers identical. The margin allows a few
    // fake-quant roundings to flip between the backends' float32 summation orders (each moves one value by one step).
    private const double LossTolerance = 1e-4, BufferTolerance = 1e-4;

    [Test]
    public void Convert_writes_a_checked_qdq_model_with_int8_weights_that_onnx_runtime_runs_like_eval_mode()
    {
        var dir = Path.Combine(Path.GetTempPath(), "df_qat_" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            using var scope = TensorScope.Begin();
            using var net = SmallCnn(3);
            using var plain = SmallCnn(3);
            Qat.Prepare(net, All);
            for (ulong i = 0; i < 4; i++) net.Call(Ops.RandomNormal(new Shape(8, 1, 16, 16), seed: 10 + i));
            net.Eval();
            var x = Ops.RandomNormal(new Shape(5, 1, 16, 16), seed: 20);
            string path = Path.Combine(dir, "qat.onnx"), floatPath = Path.Combine(dir, "float.onnx");
            var model = Qat.Convert(net, x, path);
            ModuleExporter.Export(plain, x, floatPath);

            var inits = model.Graph.Initializer.ToDictionary(t => t.Name);
            foreach (var (name, dims) in new[] { ("0.weight", new long[] { 8, 1, 3, 3 }), ("4.weight", [64, 512]), ("6.weight", [10, 64]) })
            {
                inits[name + "_quantized"].DataType.Should().Be((int)TensorProto.Types.DataType.Int8);
                inits[name + "_quantized"].Dims.Should().Equal(dims);
                inits[name + "_scale"].Dims.Should().Equal(dims[0]);
            }
            foreach (var name in new[] { "0.bias", "4.bias", "6.bias" })
                inits[name + "_quantized"].DataType.Should().Be((int)TensorProto.Types.DataType.Int32, "biases are int32 as in post-training quantization");
            model.Graph.Initializer.Should().NotContain(t => t.DataType == (int)TensorProto.Types.DataType.Float && t.Dims.Count >= 2,
                "no float32 weight matrix is left");
            model.Graph.Node.Count(n => n.OpType == "QuantizeLinear").Should().Be(5,
                "the input, both Relu outputs, and the MaxPool and Flatten outputs that share the first Relu's parameters");
            model.Graph.Node.Count(n => n.OpType == "DequantizeLinear").Should().Be(11, "five activations, three weights, three biases");
            model.MetadataProps.Should().Contain(p => p.Key == "quantization" && p.Value == "qat");

            // The same QDQ model as post-training quantization of the float export (same format; only the activation
            // parameters differ): same nodes, same initializers, and the same int8 weights (the untrained twin has the
            // same weights, and the per-channel scale max|w|/127 is the same formula). MinConvDepth 0: QAT quantizes every
            // prepared layer, the 1-channel convolution too.
            string ptqPath = Path.Combine(dir, "ptq.onnx");
            var calibration = Enumerable.Range(0, 16).Select(i => Ops.RandomNormal(new Shape(1, 16, 16), seed: 100 + (ulong)i).ToFloatArray());
            Quantizer.QuantizeStatic(floatPath, ptqPath, calibration, new StaticQuantizationOptions { Format = QuantizationFormat.U8S8, ReduceRange = false, MinConvDepth = 0 });
            var ptq = ModelProto.Parser.ParseFrom(File.ReadAllBytes(ptqPath));
            Nodes(model).Should().Be(Nodes(ptq));
            model.Graph.Initializer.Select(t => (t.Name, t.DataType, string.Join("x", t.Dims)))
                .Should().BeEquivalentTo(ptq.Graph.Initializer.Select(t => (t.Name, t.DataType, string.Join("x", t.Dims))));
            foreach (var t in ptq.Graph.Initializer.Where(t => t.DataType == (int)TensorProto.Types.DataType.Int8 && t.Dims.Count >= 2))
                inits[t.Name].RawData.Should().Equal(t.RawData, $"{t.Name} holds the weights the layer trained with");

            double ratio = (double)new FileInfo(path).Length / new FileInfo(floatPath).Length;
            TestContext.Progress.WriteLine($"QDQ {new FileInfo(path).Length} bytes, float32 {new FileInfo(floatPath).Length} bytes, ratio {ratio:F4}");
            // 33,480 weights: int8 is 25% of float32; per-channel scales and zero points (weights and biases), and the 16
            // Q/DQ nodes with their names add about 3.5% of the float32 file at this size (1% on the 420k-weight sample CNN).
            ratio.Should().BeLessThan(0.29);
            OnnxChecker.CheckDirectory(dir);

            var expected = net.Call(x).ToFloatArray();
            var ort = OrtHarness.Run(File.ReadAllBytes(path), [new OrtHarness.HostTensor(x.Spec, x.ToBytes())])[0].ToDoubles();
            // Error model, layer by layer. The file differs from eval mode in the int32 biases (each off by at most half of
            // s_in·s_w,c) and in float32 summation order; a perturbation smaller than a quantizer's step moves its output by at
            // most one step. So the error entering each quantizer is bounded by the previous bound times the largest row sum
            // of |W_q|, plus the bias error, plus float32 rounding; after the quantizer, by that plus one step.
            double rounding = 1e-5 * expected.Max(v => Math.Abs(v));
            var (_, w0) = Weights(net, 0, 8);
            double bound = ChainBound(net, Step(net, 0) * w0 / 2 + rounding, rounding);
            double maxDiff = expected.Zip(ort).Max(p => Math.Abs(p.First - p.Second));
            TestContext.Progress.WriteLine($"ORT vs torch eval: max |diff| {maxDiff:G3}, bound {bound:G3}");
            maxDiff.Should().BeLessThanOrEqualTo(bound);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
