using System.Buffers.Binary;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using DualFramework.Tests.NN;
using FluentAssertions;
using NUnit.Framework;
using DataType = DualFramework.Onnx.Proto.TensorProto.Types.DataType;

namespace DualFramework.Tests.Onnx;

/// <summary>
/// Float16 weights on a Conv-BN-ReLU-Pool-Linear CNN shaped like the Fashion-MNIST sample's: file size, onnx.checker,
/// and agreement with the float32 export in ONNX Runtime within a propagated bound of the weights' rounding.
/// </summary>
[TestFixture]
public class Float16CnnTests
{
    private const double U = 1.0 / 2048; // float16 unit roundoff 2^-11: |fl16(w) − w| ≤ 2^-11·|w| for normal w
    private const double Sub = 1.0 / (1 << 25); // half the float16 subnormal spacing 2^-24: the absolute bound below 2^-14
    private const double F32 = 1.0 / (1 << 24); // float32 unit roundoff

    private static Sequential Cnn()
    {
        var r = new SeededRandom(7);
        var m = new Sequential(
            new Conv2d(1, 32, 3, padding: 1, rng: r), new BatchNorm2d(32), new ReLU(), new MaxPool2d(2),
            new Conv2d(32, 64, 3, padding: 1, rng: r), new BatchNorm2d(64), new ReLU(), new MaxPool2d(2),
            new Flatten(), new Linear(64 * 7 * 7, 128, rng: r), new ReLU(), new Linear(128, 10, rng: r));
        // Non-trivial normalisation, so the folded weights are not the initial ones.
        int seed = 70;
        foreach (var bn in m.NamedModules().Select(x => x.Module).OfType<BatchNormBase>())
        {
            int n = (int)bn.NumFeatures;
            bn.Weight!.Assign(Tensor.FromArray(NNRef.RandF(seed++, n, 0.5, 1.5), new Shape(n)));
            bn.Bias!.Assign(Tensor.FromArray(NNRef.RandF(seed++, n, -0.2, 0.2), new Shape(n)));
            bn.RunningMean!.Assign(Tensor.FromArray(NNRef.RandF(seed++, n, -0.3, 0.3), new Shape(n)));
            bn.RunningVar!.Assign(Tensor.FromArray(NNRef.RandF(seed++, n, 0.5, 2), new Shape(n)));
        }
        return m;
    }

    [Test]
    public void Float16_cnn_is_half_the_file_passes_the_checker_and_agrees_within_the_rounding_bound()
    {
        var dir = Path.Combine(Path.GetTempPath(), "df_fp16_cnn_" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            using var s = TensorScope.Begin();
            using var model = Cnn();
            const int batch = 4;
            var x = Tensor.FromArray(NNRef.RandF(71, batch * 28 * 28, -1, 2), new Shape(batch, 1, 28, 28));
            string p32 = Path.Combine(dir, "cnn32.onnx"), p16 = Path.Combine(dir, "cnn16.onnx");
            ModuleExporter.Export(model, x, p32);
            ModuleExporter.Export(model, x, p16, new ModuleExportOptions { WeightsDType = DType.Float16 });
            long size32 = new FileInfo(p32).Length, size16 = new FileInfo(p16).Length;
            TestContext.Progress.WriteLine($"CNN: float32 {size32} bytes, float16 {size16} bytes, ratio {(double)size16 / size32:F4}");
            ((double)size16 / size32).Should().BeLessThanOrEqualTo(0.51);
            OnnxChecker.CheckDirectory(dir);

            var feed = new OrtHarness.HostTensor(x.Spec, OrtHarness.Bytes(x));
            var y32 = OrtHarness.Run(File.ReadAllBytes(p32), [feed])[0].ToDoubles();
            var y16 = OrtHarness.Run(File.ReadAllBytes(p16), [feed])[0].ToDoubles();
            var layers = Layers(ModelProto.Parser.ParseFrom(File.ReadAllBytes(p32)));
            var xs = x.ToDoubleArray();
            double maxDiff = 0, maxBound = 0, maxQuad = 0, maxY = 0, maxPredicted = 0, maxResidual = 0;
            for (int b = 0; b < batch; b++)
            {
                var image = xs.AsSpan(b * 784, 784).ToArray();
                var r = Forward(image, layers, w => w);
                var y = r.X;
                var yHalf = Forward(image, layers, w => (double)(Half)w).X;
                for (int k = 0; k < 10; k++)
                {
                    int i = b * 10 + k;
                    double d = y16[i] - y32[i], predicted = yHalf[k] - y[k];
                    Math.Abs(d).Should().BeLessThanOrEqualTo(r.Worst[k], $"image {b}, logit {k}: worst-case bound");
                    Math.Abs(d).Should().BeLessThanOrEqualTo(5 * r.Quad[k], $"image {b}, logit {k}: probabilistic bound");
                    Math.Abs(y32[i] - y[k]).Should().BeLessThanOrEqualTo(5 * r.Quad[k], "the float64 reference computes the exported model");
                    maxDiff = Math.Max(maxDiff, Math.Abs(d));
                    maxBound = Math.Max(maxBound, r.Worst[k]);
                    maxQuad = Math.Max(maxQuad, 5 * r.Quad[k]);
                    maxY = Math.Max(maxY, Math.Abs(y[k]));
                    maxPredicted = Math.Max(maxPredicted, Math.Abs(predicted));
                    maxResidual = Math.Max(maxResidual, Math.Abs(d - predicted));
                }
            }
            TestContext.Progress.WriteLine($"CNN: max |Δlogit| {maxDiff:E2} (predicted by rounding each weight to nearest float16: {maxPredicted:E2}, " +
                $"residual {maxResidual:E2}), probabilistic bound {maxQuad:E2}, worst-case bound {maxBound:E2}, max |logit| {maxY:F3}");
            maxDiff.Should().BeGreaterThan(0, "the rounded weights change the logits");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// The (weight, bias) of each Conv and Gemm of the float32 export, in graph order: the reference weights, as folded
    /// (Conv+BatchNorm) by the exporter.
    /// </summary>
    private static (double[] W, double[] B)[] Layers(ModelProto m)
    {
        double[] Read(string name)
        {
            var t = m.Graph.Initializer.Single(i => i.Name == name);
            ((DataType)t.DataType).Should().Be(DataType.Float);
            var raw = t.RawData.ToByteArray();
            return Enumerable.Range(0, raw.Length / 4).Select(i => (double)BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(4 * i))).ToArray();
        }
        var layers = m.Graph.Node.Where(n => n.OpType is "Conv" or "Gemm").Select(n => (Read(n.Input[1]), Read(n.Input[2]))).ToArray();
        layers.Should().HaveCount(4, "conv, conv, linear, linear");
        return layers;
    }

    /// <summary>
    /// The logits of one image in float64 with the given weights, each first mapped by <paramref name="q"/>, and two
    /// bounds on |float16-weight logits − float32 logits| of the exported models per logit (see <see cref="Affine"/>).
    /// </summary>
    private static Errors Forward(double[] image, (double[] W, double[] B)[] layers, Func<double, double> q)
    {
        var l = layers.Select(p => (W: p.W.Select(q).ToArray(), B: p.B.Select(q).ToArray())).ToArray();
        var a = new Errors(image, new double[image.Length], new double[image.Length]);
        a = Pool(Affine(a, 1, 28, 28, l[0].W, l[0].B, 32, 3), 32, 28, 28);
        a = Pool(Affine(a, 32, 14, 14, l[1].W, l[1].B, 64, 3), 64, 14, 14);
        // A linear layer is a 1×1 convolution over a 1×1 image whose channels are the flattened features.
        a = Affine(a, 64 * 7 * 7, 1, 1, l[2].W, l[2].B, 128, 1);
        return Affine(a with { X = Relu(a.X) }, 128, 1, 1, l[3].W, l[3].B, 10, 1);
    }

    /// <summary>Activations <see cref="X"/> with a worst-case error bound <see cref="Worst"/> and a probabilistic scale
    /// <see cref="Quad"/> (the same error terms added in quadrature) per element.</summary>
    private sealed record Errors(double[] X, double[] Worst, double[] Quad);

    /// <summary>
    /// Same-padded k×k convolution of [c,h,w] to [o,h,w] (a linear layer when h = w = k = 1). Error terms of
    /// z = W·x + b: the propagated input error |w|·e per product, the rounding of each weight to float16
    /// D = max(2^-11·|w|, 2^-25) times |x| + e (d_b for the bias), and the float32 accumulation of each of the two runs,
    /// at most 2^-24 of the magnitude Σ|w|(|x| + e) + |b| per addition (K + 1 additions). <see cref="Errors.Worst"/> sums
    /// their bounds (rigorous, but loose: it assumes every rounding error has the same sign); <see cref="Errors.Quad"/>
    /// adds them in quadrature, the usual model of independent zero-mean rounding errors, under which |error| exceeds
    /// 5·Quad with probability below 2·e^-12.5 (Hoeffding).
    /// </summary>
    private static Errors Affine(Errors a, int c, int h, int w, double[] wt, double[] b, int o, int k)
    {
        int pad = k / 2, terms = c * k * k + 1;
        var (y, worst, quad) = (new double[o * h * w], new double[o * h * w], new double[o * h * w]);
        for (int oc = 0; oc < o; oc++)
            for (int oy = 0; oy < h; oy++)
                for (int ox = 0; ox < w; ox++)
                {
                    double db = Math.Max(U * Math.Abs(b[oc]), Sub);
                    double sum = b[oc], sumW = db, sumQ = db * db, mag = Math.Abs(b[oc]);
                    for (int ic = 0; ic < c; ic++)
                        for (int ky = 0; ky < k; ky++)
                        {
                            int iy = oy + ky - pad;
                            if (iy < 0 || iy >= h) continue;
                            for (int kx = 0; kx < k; kx++)
                            {
                                int ix = ox + kx - pad;
                                if (ix < 0 || ix >= w) continue;
                                double wv = wt[((oc * c + ic) * k + ky) * k + kx], aw = Math.Abs(wv), d = Math.Max(U * aw, Sub);
                                int at = (ic * h + iy) * w + ix;
                                sum += wv * a.X[at];
                                sumW += aw * a.Worst[at] + d * (Math.Abs(a.X[at]) + a.Worst[at]);
                                sumQ += Sq(aw * a.Quad[at]) + Sq(d * (Math.Abs(a.X[at]) + a.Quad[at]));
                                mag += aw * (Math.Abs(a.X[at]) + a.Worst[at]);
                            }
                        }
                    int to = (oc * h + oy) * w + ox;
                    y[to] = sum;
                    worst[to] = sumW + 2 * terms * F32 * mag;
                    quad[to] = Math.Sqrt(sumQ + 2 * terms * Sq(F32 * mag));
                }
        return new Errors(y, worst, quad);
    }

    private static double Sq(double v) => v * v;

    private static double[] Relu(double[] x) => x.Select(v => Math.Max(0, v)).ToArray();

    /// <summary>ReLU then 2×2 max pooling with stride 2 of [c,h,w]. Both are 1-Lipschitz per element, so an error bound
    /// passes through as the largest in the window.</summary>
    private static Errors Pool(Errors a, int c, int h, int w) => new(MaxPool(Relu(a.X), c, h, w), MaxPool(a.Worst, c, h, w), MaxPool(a.Quad, c, h, w));

    private static double[] MaxPool(double[] x, int c, int h, int w)
    {
        int h2 = h / 2, w2 = w / 2;
        var y = new double[c * h2 * w2];
        for (int ch = 0; ch < c; ch++)
            for (int oy = 0; oy < h2; oy++)
                for (int ox = 0; ox < w2; ox++)
                {
                    double best = double.NegativeInfinity;
                    for (int d = 0; d < 4; d++) best = Math.Max(best, x[(ch * h + 2 * oy + d / 2) * w + 2 * ox + d % 2]);
                    y[(ch * h2 + oy) * w2 + ox] = best;
                }
        return y;
    }
}
