using DualFramework.Backends;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Quantization;
using FluentAssertions;
using NUnit.Framework;
using static DualFramework.Tests.Quantization.QuantTestSupport;

namespace DualFramework.Tests.Quantization;

/// <summary>
/// A statically quantized QDQ model runs on both backends through the importer (integer emulation of Q/DQ) and agrees with
/// ONNX Runtime, which fuses the same file into integer kernels (QLinearConv, QGemm).
/// </summary>
/// <remarks>
/// Error model: ONNX Runtime requantizes each fused kernel's int32 accumulator with its own fixed-point arithmetic; we
/// dequantize, compute in float32 and quantize with round-half-to-even. Both are within half a step of the exact value, so an
/// intermediate int8 value can differ by at most one step where the exact value sits near a rounding boundary. The last
/// Gemm reads the flattened activation (scale s) and has float outputs: one step in every input changes output j by at most
/// s·Σ_i|W_ji| (W the dequantized weights), plus float32 accumulation (K·2^-24 of the same sum). The check uses that bound.
/// </remarks>
[TestFixture]
public class QuantizedModelOnBackendsTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TempDir("backends");

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void Imported_qdq_model_agrees_with_onnx_runtime_within_one_step_per_input(string backend)
    {
        var rng = new SeededRandom(12);
        using var m = new Sequential(new Conv2d(1, 4, 3, padding: 1, rng: rng), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(36, 5, rng: rng));
        var path = Export(m, [1, 1, 6, 6], _dir, "cnn");
        var calib = RandomSamples(6, 200, 36, -1, 1);
        var result = Quantizer.QuantizeStatic(path, Path.Combine(_dir, "q.onnx"), calib, new StaticQuantizationOptions { Format = QuantizationFormat.S8S8 });
        var q = Load(result.OutputPath);

        // The bound's ingredients, read from the quantized file: the Gemm's input scale and its dequantized weights.
        var gemm = q.Graph.Node.Single(n => n.OpType == "Gemm");
        var dqx = Producer(q, gemm.Input[0]);
        float s = Floats(Init(q, dqx.Input[1]))[0];
        var dqw = Producer(q, gemm.Input[1]);
        int[] wq = Ints(Init(q, dqw.Input[0]));
        float[] ws = Floats(Init(q, dqw.Input[1]));
        var bound = new double[5];
        for (int j = 0; j < 5; j++)
        {
            double l1 = 0;
            for (int i = 0; i < 36; i++) l1 += Math.Abs(wq[j * 36 + i] * (double)ws[j]);
            bound[j] = s * l1 * (1 + 37 * Math.Pow(2, -24)) + 1e-6;
        }

        var x = calib.SelectMany(v => v).ToArray();
        var expected = Run(result.OutputPath, x, [200, 1, 6, 6]);
        var b = BackendRegistry.Get(backend);
        using var imported = OnnxImporter.Load(result.OutputPath);
        float[] got;
        using (TensorScope.Begin())
            got = imported.Run(b, Tensor.FromArray(x, new Shape(200, 1, 6, 6), b))[0].ToFloatArray();

        got.Should().HaveCount(expected.Length);
        int exact = 0, agreeTop1 = 0;
        for (int n = 0; n < 200; n++)
        {
            int bestE = 0, bestG = 0;
            for (int j = 0; j < 5; j++)
            {
                int k = n * 5 + j;
                Math.Abs((double)got[k] - expected[k]).Should().BeLessThanOrEqualTo(bound[j], $"sample {n}, output {j}");
                if (Math.Abs(got[k] - expected[k]) <= 1e-5 * (1 + Math.Abs(expected[k]))) exact++;
                if (expected[k] > expected[n * 5 + bestE]) bestE = j;
                if (got[k] > got[n * 5 + bestG]) bestG = j;
            }
            if (bestE == bestG) agreeTop1++;
        }
        TestContext.Progress.WriteLine($"{backend}: {exact}/1000 outputs equal to ONNX Runtime's within float rounding, top-1 agreement {agreeTop1}/200");
        agreeTop1.Should().BeGreaterThanOrEqualTo(196, "rounding flips move outputs by at most a step per input");
    }
}
