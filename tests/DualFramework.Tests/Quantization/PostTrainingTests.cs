using DualFramework.MixedPrecision;
using DualFramework.NN;
using DualFramework.Onnx.Proto;
using DualFramework.Quantization;
using DualFramework.Tests.Onnx;
using FluentAssertions;
using NUnit.Framework;
using static DualFramework.Tests.Quantization.QuantTestSupport;
using DataType = DualFramework.Onnx.Proto.TensorProto.Types.DataType;

namespace DualFramework.Tests.Quantization;

/// <summary>
/// Static and dynamic INT8 quantization of exported models, checked against hand-computed parameters and against the
/// float model in ONNX Runtime. Error model of one quantized layer y = W·x + b (inputs inside the calibrated range): with
/// δx = s_x/2, δw_c = s_w,c/2 and the int32 bias off by at most s_x·s_w,c/2,
/// |ŷ_c − y_c| ≤ Σ_k (|W_ck|·δx + |x_k|·δw_c + δx·δw_c) + s_x·s_w,c/2 (+ s_y/2 when the output is quantized too).
/// </summary>
[TestFixture]
[NonParallelizable]
public class PostTrainingTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TempDir("tests");

    [TearDown]
    public void TearDown()
    {
        // DF_KEEP_PTQ=1 keeps the models for inspection.
        if (Environment.GetEnvironmentVariable("DF_KEEP_PTQ") != "1") Directory.Delete(_dir, true);
        else TestContext.Progress.WriteLine($"kept {_dir}");
    }

    // MinConvDepth 0: the toy CNNs here have 1-channel 3×3 convolutions (depth 9), which the default leaves float.
    private static readonly StaticQuantizationOptions S8 = new() { Format = QuantizationFormat.S8S8, MinConvDepth = 0 };

    private string LinearModel(out float[] w, out float[] b)
    {
        using var m = new Linear(16, 8, rng: new SeededRandom(5));
        var path = Export(m, [1, 16], _dir, "linear");
        var f = Load(path);
        var gemm = f.Graph.Node.Single(n => n.OpType == "Gemm");
        w = Floats(Init(f, gemm.Input[1]));
        b = Floats(Init(f, gemm.Input[2]));
        return path;
    }

    [Test]
    public void Linear_becomes_qdq_with_per_channel_weights_and_int32_bias()
    {
        var path = LinearModel(out var w, out var b);
        var calib = RandomSamples(1, 256, 16, -1, 3);
        var result = Quantizer.QuantizeStatic(path, Path.Combine(_dir, "q.onnx"), calib, S8);
        var q = Load(result.OutputPath);

        var gemm = q.Graph.Node.Single(n => n.OpType == "Gemm");
        // Input: asymmetric int8 from the data's range [-1, 3] (widened to contain 0).
        float xmin = calib.Min(s => s.Min()), xmax = calib.Max(s => s.Max());
        float sx = (Math.Max(xmax, 0) - Math.Min(xmin, 0)) / 255f;
        var dqx = Producer(q, gemm.Input[0]);
        dqx.OpType.Should().Be("DequantizeLinear");
        Floats(Init(q, dqx.Input[1]))[0].Should().BeApproximately(sx, 1e-7f);
        Ints(Init(q, dqx.Input[2]))[0].Should().Be((int)Math.Round(-128 - xmin / sx));
        ((DataType)Init(q, dqx.Input[2]).DataType).Should().Be(DataType.Int8);

        // Weight: int8, one scale per output row (axis 0 of the transB weight) = max|W_row| / 127, zero points 0.
        var dqw = Producer(q, gemm.Input[1]);
        dqw.Attribute.Single(a => a.Name == "axis").I.Should().Be(0);
        var wq = Init(q, dqw.Input[0]);
        ((DataType)wq.DataType).Should().Be(DataType.Int8);
        var sw = Floats(Init(q, dqw.Input[1]));
        sw.Should().HaveCount(8);
        for (int c = 0; c < 8; c++) sw[c].Should().BeApproximately(w.Skip(16 * c).Take(16).Max(Math.Abs) / 127f, 1e-7f);
        Ints(Init(q, dqw.Input[2])).Should().OnlyContain(z => z == 0);
        var wInts = Ints(wq);
        for (int i = 0; i < w.Length; i++) wInts[i].Should().Be((int)Math.Round(w[i] / sw[i / 16], MidpointRounding.ToEven));

        // Bias: int32 with scale s_x·s_w,c.
        var dqb = Producer(q, gemm.Input[2]);
        ((DataType)Init(q, dqb.Input[0]).DataType).Should().Be(DataType.Int32);
        var sb = Floats(Init(q, dqb.Input[1]));
        for (int c = 0; c < 8; c++) sb[c].Should().BeApproximately(sx * sw[c], 1e-9f);
        q.Graph.Initializer.Should().NotContain(t => t.DataType == (int)DataType.Float && t.Dims.Count == 2, "the float weight is gone");
        result.QuantizedNodes.Should().HaveCount(1);
        result.CalibrationSamples.Should().Be(256);
    }

    [Test]
    public void Quantized_linear_agrees_with_the_float_model_within_the_error_model()
    {
        var path = LinearModel(out var w, out var b);
        var calib = RandomSamples(2, 256, 16, -1, 3);
        var result = Quantizer.QuantizeStatic(path, Path.Combine(_dir, "q.onnx"), calib, S8);
        var x = calib.SelectMany(s => s).ToArray();
        var yf = Run(path, x, [256, 16]);
        var yq = Run(result.OutputPath, x, [256, 16]);

        // Scales by the formulas, independently of the quantizer.
        float dx = (Math.Max(x.Max(), 0) - Math.Min(x.Min(), 0)) / 255f / 2;
        double worst = 0, sumErr = 0, sumBound = 0;
        for (int n = 0; n < 256; n++)
            for (int c = 0; c < 8; c++)
            {
                float dw = w.Skip(16 * c).Take(16).Max(Math.Abs) / 127f / 2;
                double bound = 2 * dx * dw + 1e-5 * (1 + Math.Abs(yf[n * 8 + c]));
                for (int k = 0; k < 16; k++) bound += Math.Abs(w[c * 16 + k]) * dx + Math.Abs(x[n * 16 + k]) * dw + dx * dw;
                double err = Math.Abs(yq[n * 8 + c] - yf[n * 8 + c]);
                err.Should().BeLessThanOrEqualTo(bound, $"sample {n}, output {c}");
                worst = Math.Max(worst, err / bound);
                sumErr += err;
                sumBound += bound;
            }
        sumErr.Should().BeGreaterThan(0, "the model really computes on quantized values");
        TestContext.Progress.WriteLine($"linear: worst error/bound {worst:F3}, mean error/mean bound {sumErr / sumBound:F3}");
    }

    [Test]
    public void Quantized_conv_agrees_with_the_float_model_within_the_error_model()
    {
        using var m = new Sequential(new Conv2d(2, 4, 3, padding: 1, rng: new SeededRandom(7)), new ReLU());
        var path = Export(m, [1, 2, 6, 6], _dir, "conv");
        var f = Load(path);
        var conv = f.Graph.Node.Single(n => n.OpType == "Conv");
        var w = Floats(Init(f, conv.Input[1]));
        var calib = RandomSamples(3, 128, 72, -2, 2);
        var result = Quantizer.QuantizeStatic(path, Path.Combine(_dir, "q.onnx"), calib, S8);
        var x = calib.SelectMany(s => s).ToArray();
        var yf = Run(path, x, [128, 2, 6, 6]);
        var yq = Run(result.OutputPath, x, [128, 2, 6, 6]);

        float dx = (Math.Max(x.Max(), 0) - Math.Min(x.Min(), 0)) / 255f / 2;
        var dws = Enumerable.Range(0, 4).Select(o => w.Skip(18 * o).Take(18).Max(Math.Abs) / 127f / 2).ToArray();
        double sumErr = 0;
        for (int n = 0; n < 128; n++)
            for (int o = 0; o < 4; o++)
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++)
                    {
                        double bound = 2 * dx * dws[o];
                        for (int c = 0; c < 2; c++)
                            for (int u = 0; u < 3; u++)
                                for (int v = 0; v < 3; v++)
                                {
                                    int r = i + u - 1, s = j + v - 1;
                                    if (r < 0 || r >= 6 || s < 0 || s >= 6) continue; // padding: 0 is exact
                                    float wv = w[((o * 2 + c) * 3 + u) * 3 + v], xv = x[((n * 2 + c) * 6 + r) * 6 + s];
                                    bound += Math.Abs(wv) * dx + Math.Abs(xv) * dws[o] + dx * dws[o];
                                }
                        int idx = ((n * 4 + o) * 6 + i) * 6 + j;
                        double err = Math.Abs(yq[idx] - yf[idx]);
                        err.Should().BeLessThanOrEqualTo(bound + 1e-5, $"sample {n}, channel {o}, pixel ({i}, {j}); ReLU is 1-Lipschitz");
                        sumErr += err;
                    }
        sumErr.Should().BeGreaterThan(0);
    }

    [Test]
    public void Relu_after_conv_is_not_split_and_layout_ops_share_their_inputs_parameters()
    {
        var rng = new SeededRandom(11);
        using var m = new Sequential(new Conv2d(1, 4, 3, padding: 1, rng: rng), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(36, 5, rng: rng));
        var path = Export(m, [1, 1, 6, 6], _dir, "cnn");
        var calib = RandomSamples(4, 200, 36, -1, 1);
        var result = Quantizer.QuantizeStatic(path, Path.Combine(_dir, "q.onnx"), calib, S8);
        var q = Load(result.OutputPath);

        var conv = q.Graph.Node.Single(n => n.OpType == "Conv");
        var readers = q.Graph.Node.Where(n => n.Input.Contains(conv.Output[0])).ToList();
        readers.Should().ContainSingle().Which.OpType.Should().Be("Relu", "no Q/DQ between Conv and its ReLU, so ONNX Runtime fuses them");
        var relu = readers[0];
        var qRelu = q.Graph.Node.Single(n => n.OpType == "QuantizeLinear" && n.Input[0] == relu.Output[0]);
        Ints(Init(q, qRelu.Input[2]))[0].Should().Be(-128, "a ReLU output's range starts at 0");
        var pool = q.Graph.Node.Single(n => n.OpType == "MaxPool");
        var flatten = q.Graph.Node.Single(n => n.OpType is "Flatten" or "Reshape"); // the exporter lowers Flatten to Reshape
        foreach (var layout in new[] { pool, flatten })
        {
            var ql = q.Graph.Node.Single(n => n.OpType == "QuantizeLinear" && n.Input[0] == layout.Output[0]);
            ql.Input[1].Should().Be(qRelu.Input[1], $"{layout.OpType} reuses the ReLU output's scale");
            ql.Input[2].Should().Be(qRelu.Input[2]);
        }
        q.Graph.Node.Should().NotContain(n => n.OpType == "QuantizeLinear" && q.Graph.Output.Any(o => o.Name == n.Input[0]), "graph outputs stay float");
        result.Activations.Where(a => a.SharedWith != null).Should().HaveCount(2);

        var x = calib.SelectMany(s => s).ToArray();
        var yf = Run(path, x, [200, 1, 6, 6]);
        var yq = Run(result.OutputPath, x, [200, 1, 6, 6]);
        double scale = yf.Max(Math.Abs), worst = yf.Zip(yq, (a, c) => Math.Abs(a - c)).Max();
        worst.Should().BeLessThan(0.05 * scale, "two quantized layers stay within a few percent of the output range");
    }

    [Test]
    public void Reduce_range_and_per_tensor_weights_follow_their_formulas()
    {
        var path = LinearModel(out var w, out _);
        var calib = RandomSamples(5, 100, 16, -1, 1);
        var r = Quantizer.QuantizeStatic(path, Path.Combine(_dir, "rr.onnx"), calib, S8 with { ReduceRange = true, PerChannel = false });
        var q = Load(r.OutputPath);
        var dqw = Producer(q, q.Graph.Node.Single(n => n.OpType == "Gemm").Input[1]);
        dqw.Attribute.Should().NotContain(a => a.Name == "axis");
        var scale = Floats(Init(q, dqw.Input[1]));
        scale.Should().ContainSingle().Which.Should().BeApproximately(w.Max(Math.Abs) / 64f, 1e-7f);
        Ints(Init(q, dqw.Input[0])).Should().OnlyContain(v => v >= -64 && v <= 64).And.Contain(v => Math.Abs(v) == 64);
        r.Choice.ReduceRange.Should().BeTrue();

        var u = Quantizer.QuantizeStatic(path, Path.Combine(_dir, "u8.onnx"), calib, new StaticQuantizationOptions { Format = QuantizationFormat.U8S8 });
        var qu = Load(u.OutputPath);
        var zp = Init(qu, qu.Graph.Node.First(n => n.OpType == "QuantizeLinear").Input[2]);
        ((DataType)zp.DataType).Should().Be(DataType.Uint8);
        float xmin = calib.Min(v => v.Min()), xmax = calib.Max(v => v.Max());
        Ints(zp)[0].Should().Be((int)Math.Round(-xmin / ((xmax - xmin) / 255f)), "uint8: zero point round(0 - min/scale)");
    }

    [Test]
    public void A_shallow_convolution_stays_float_and_its_pooling_runs_before_its_relu()
    {
        var rng = new SeededRandom(12);
        using var m = new Sequential(new Conv2d(1, 4, 3, padding: 1, rng: rng), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(36, 5, rng: rng));
        var path = Export(m, [1, 1, 6, 6], _dir, "shallow");
        var calib = RandomSamples(6, 100, 36, -1, 1);
        var result = Quantizer.QuantizeStatic(path, Path.Combine(_dir, "shallow_q.onnx"), calib, S8 with { MinConvDepth = 16 });
        result.FloatNodes.Should().ContainSingle().Which.Should().Contain("Conv").And.Contain("dot products of 9").And.Contain("MinConvDepth 16");
        result.QuantizedNodes.Should().ContainSingle();
        var q = Load(result.OutputPath);
        var conv = q.Graph.Node.Single(n => n.OpType == "Conv");
        ((DataType)Init(q, conv.Input[1]).DataType).Should().Be(DataType.Float, "the weight stays a float initializer");
        var pool = q.Graph.Node.Single(n => n.Input.Contains(conv.Output[0]));
        pool.OpType.Should().Be("MaxPool", "max(relu(x)) = relu(max(x)): pooling first keeps it in the float branch");
        var relu = q.Graph.Node.Single(n => n.Input.Contains(pool.Output[0]));
        relu.OpType.Should().Be("Relu");
        var flatten = q.Graph.Node.Single(n => n.Input.Contains(relu.Output[0]));
        flatten.OpType.Should().Be("Reshape");
        q.Graph.Node.Where(n => n.OpType == "QuantizeLinear").Should().ContainSingle()
            .Which.Input[0].Should().Be(flatten.Output[0], "only the Gemm's input is quantized, below the Relu");

        // Only the Gemm's input and weight are quantized: the error model of one quantized layer holds (as above).
        var x = calib.SelectMany(v => v).ToArray();
        var yf = Run(path, x, [100, 1, 6, 6]);
        var yq = Run(result.OutputPath, x, [100, 1, 6, 6]);
        double scale = yf.Max(Math.Abs), worst = yf.Zip(yq, (a, c) => Math.Abs(a - c)).Max();
        worst.Should().BeLessThan(0.03 * scale);
        FluentActions.Invoking(() => Quantizer.QuantizeStatic(path, Path.Combine(_dir, "x.onnx"), calib, S8 with { MinConvDepth = -1 }))
            .Should().Throw<QuantizationException>().WithMessage("*MinConvDepth*");
        var excluded = Quantizer.QuantizeStatic(path, Path.Combine(_dir, "excluded.onnx"), calib, S8 with { NodesToExclude = ["Gemm_4"] });
        excluded.FloatNodes.Should().ContainSingle().Which.Should().StartWith("Gemm_4").And.Contain("NodesToExclude");
        excluded.QuantizedNodes.Should().Equal("Conv_0");
        FluentActions.Invoking(() => Quantizer.QuantizeStatic(path, Path.Combine(_dir, "x.onnx"), calib, S8 with { NodesToExclude = ["Gemm_4", "nope"] }))
            .Should().Throw<QuantizationException>().WithMessage("*nope*");
    }

    [Test]
    public void Bad_calibration_data_is_named_in_the_error()
    {
        var path = LinearModel(out _, out _);
        string o = Path.Combine(_dir, "bad.onnx");
        var good = RandomSamples(6, 10, 16, -1, 1);
        FluentActions.Invoking(() => Quantizer.QuantizeStatic(path, o, Array.Empty<float[]>(), S8))
            .Should().Throw<QuantizationException>().WithMessage("*empty*");
        FluentActions.Invoking(() => Quantizer.QuantizeStatic(path, o, good.Append(new float[15]), S8))
            .Should().Throw<QuantizationException>().WithMessage("*sample 10 has 15 values*16 per sample*");
        var nan = good.Select(s => s.ToArray()).ToList();
        nan[3][4] = float.NaN;
        FluentActions.Invoking(() => Quantizer.QuantizeStatic(path, o, nan, S8))
            .Should().Throw<QuantizationException>().WithMessage("*sample 3 holds NaN at element 4*");
        nan[3][4] = float.NegativeInfinity;
        FluentActions.Invoking(() => Quantizer.QuantizeStatic(path, o, nan, S8))
            .Should().Throw<QuantizationException>().WithMessage("*sample 3 holds -Infinity*");
        using (TensorScope.Begin())
        {
            var f64 = Tensor.FromArray(new double[32], new Shape(2, 16));
            FluentActions.Invoking(() => Quantizer.QuantizeStatic(path, o, [f64], S8))
                .Should().Throw<QuantizationException>().WithMessage("*tensor 0 is float64*float32*");
            var wrong = Tensor.FromArray(new float[30], new Shape(2, 15));
            FluentActions.Invoking(() => Quantizer.QuantizeStatic(path, o, [wrong], S8))
                .Should().Throw<QuantizationException>().WithMessage("*shape [2, 15]*[?, 16]*");
        }
        File.Exists(o).Should().BeFalse("nothing is written when calibration fails");
    }

    [Test]
    public void Auto_format_follows_the_cpu_flags()
    {
        static CpuFeatures Cpu(string? limit, params string[] flags) => new(new HashSet<string>(flags), limit);
        var vnni = QuantizationHardware.Choose(Cpu(null, "avx2", "avx512f", "avx512_vnni"));
        vnni.Should().Match<FormatChoice>(c => c.Format == QuantizationFormat.S8S8 && !c.ReduceRange);
        vnni.Reason.Should().Contain("avx512_vnni");
        QuantizationHardware.Choose(Cpu(null, "avx2", "avx_vnni")).ReduceRange.Should().BeFalse();
        QuantizationHardware.Choose(Cpu(null, "avx2")).ReduceRange.Should().BeTrue();
        var pinned = QuantizationHardware.Choose(Cpu("AVX2", "avx2", "avx512_vnni"));
        pinned.ReduceRange.Should().BeTrue();
        pinned.Reason.Should().Contain("ONEDNN_MAX_CPU_ISA");
        QuantizationHardware.Choose(Cpu(null, "neon")).ReduceRange.Should().BeFalse();

        var path = LinearModel(out _, out _);
        var r = Quantizer.QuantizeStatic(path, Path.Combine(_dir, "auto.onnx"), RandomSamples(7, 20, 16, -1, 1));
        r.Choice.Should().Be(QuantizationHardware.Choose());
        r.Summary.Should().Contain(r.Choice.Reason).And.Contain("MinMax calibration on 20 samples");
        Load(r.OutputPath).MetadataProps.Should().Contain(p => p.Key == "quantization_format" && p.Value == "S8S8");
    }

    [Test]
    public void Dynamic_linear_uses_integer_matmul_and_agrees_within_the_error_model()
    {
        var path = LinearModel(out var w, out var b);
        var r = Quantizer.QuantizeDynamic(path, Path.Combine(_dir, "dyn.onnx"));
        var q = Load(r.OutputPath);
        q.Graph.Node.Select(n => n.OpType).Should().Contain(["DynamicQuantizeLinear", "MatMulInteger"]).And.NotContain("Gemm");
        var mmi = q.Graph.Node.Single(n => n.OpType == "MatMulInteger");
        Init(q, mmi.Input[1]).Dims.Should().Equal(16, 8);

        var x = RandomSamples(8, 64, 16, -2, 1).SelectMany(s => s).ToArray();
        var yf = Run(path, x, [64, 16]);
        var yq = Run(r.OutputPath, x, [64, 16]);
        float dx = (Math.Max(x.Max(), 0) - Math.Min(x.Min(), 0)) / 255f / 2; // DynamicQuantizeLinear: uint8 over the whole input
        double sumErr = 0;
        for (int n = 0; n < 64; n++)
            for (int c = 0; c < 8; c++)
            {
                float dw = w.Skip(16 * c).Take(16).Max(Math.Abs) / 127f / 2;
                double bound = 1e-5 * (1 + Math.Abs(yf[n * 8 + c]));
                for (int k = 0; k < 16; k++) bound += Math.Abs(w[c * 16 + k]) * dx + Math.Abs(x[n * 16 + k]) * dw + dx * dw;
                double err = Math.Abs(yq[n * 8 + c] - yf[n * 8 + c]);
                err.Should().BeLessThanOrEqualTo(bound, $"sample {n}, output {c}");
                sumErr += err;
            }
        sumErr.Should().BeGreaterThan(0);
        ((DataType)Init(q, mmi.Input[1]).DataType).Should().Be(DataType.Int8);
        q.Graph.Initializer.Should().NotContain(t => t.DataType == (int)DataType.Float && t.Dims.Count == 2, "the float weight is gone");
    }

    [Test]
    public void Every_output_model_passes_the_onnx_checker_and_runs()
    {
        OnnxChecker.SkipWhenUnavailable();
        var linear = LinearModel(out _, out _);
        var rng = new SeededRandom(12);
        using var cnn = new Sequential(new Conv2d(1, 4, 3, padding: 1, rng: rng), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(36, 5, rng: rng));
        var cnnPath = Export(cnn, [1, 1, 6, 6], _dir, "cnn");
        var outDir = Path.Combine(_dir, "out");
        Directory.CreateDirectory(outDir);
        var calib16 = RandomSamples(9, 64, 16, -1, 2);
        var calib36 = RandomSamples(10, 64, 36, -1, 2);
        var made = new List<string>();
        foreach (var method in Enum.GetValues<CalibrationMethod>())
            foreach (var format in new[] { QuantizationFormat.S8S8, QuantizationFormat.U8S8 })
            {
                var o = new StaticQuantizationOptions { Format = format, Method = method, CalibrationBatchSize = 8, MinConvDepth = 0 };
                made.Add(Quantizer.QuantizeStatic(linear, Path.Combine(outDir, $"linear_{method}_{format}.onnx"), calib16, o).OutputPath);
                made.Add(Quantizer.QuantizeStatic(cnnPath, Path.Combine(outDir, $"cnn_{method}_{format}.onnx"), calib36, o).OutputPath);
            }
        made.Add(Quantizer.QuantizeStatic(cnnPath, Path.Combine(outDir, "cnn_rr.onnx"), calib36, S8 with { ReduceRange = true, QuantizeBias = false }).OutputPath);
        made.Add(Quantizer.QuantizeDynamic(linear, Path.Combine(outDir, "linear_dynamic.onnx")).OutputPath);
        made.Add(Quantizer.QuantizeDynamic(cnnPath, Path.Combine(outDir, "cnn_dynamic.onnx"), new DynamicQuantizationOptions { PerChannel = false }).OutputPath);
        OnnxChecker.CheckDirectory(outDir);
        foreach (var p in made)
        {
            bool isCnn = Path.GetFileName(p).StartsWith("cnn", StringComparison.Ordinal);
            var y = isCnn ? Run(p, calib36.SelectMany(s => s).ToArray(), [64, 1, 6, 6]) : Run(p, calib16.SelectMany(s => s).ToArray(), [64, 16]);
            y.Should().OnlyContain(v => float.IsFinite(v), p);
        }
    }

    [Test]
    public void Models_without_weighted_ops_or_with_old_opsets_are_refused()
    {
        using var m = new Sequential(new ReLU());
        var path = Export(m, [1, 4], _dir, "relu");
        FluentActions.Invoking(() => Quantizer.QuantizeStatic(path, Path.Combine(_dir, "x.onnx"), RandomSamples(1, 4, 4, 0, 1)))
            .Should().Throw<QuantizationException>().WithMessage("*no Conv, Gemm or MatMul*");
        var old = Load(LinearModel(out _, out _));
        old.OpsetImport[0].Version = 11;
        FluentActions.Invoking(() => Quantizer.QuantizeDynamic(old, Path.Combine(_dir, "y.onnx")))
            .Should().Throw<QuantizationException>().WithMessage("*opset 11*13*");
    }
}
