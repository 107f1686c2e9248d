using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.MixedPrecision;
using DualFramework.NN;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.MixedPrecision;

/// <summary>
/// Autocast applied by the dispatcher: the same dtypes and values on the eager torch backend, the graph backend's eager ops
/// and inside traced graphs, where the casts are IR nodes. Values are checked against a float64 host reference built from the
/// bf16-rounded operands: a bf16 matmul with float32 accumulation differs from it by the output rounding (u = 2^-8 of |y|)
/// plus float32 accumulation error (K·2^-24 of Σ|x·w|).
/// </summary>
[TestFixture]
public class AutocastTests
{
    private static readonly string[] Backends = ["torch", "graph"];
    private const double U = 1.0 / 256; // bf16 unit roundoff

    private static float Bf16(float v) => BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(v));

    private static float[] Values(int n, int seed)
    {
        var rng = new SeededRandom(seed);
        return Enumerable.Range(0, n).Select(_ => (float)rng.Normal()).ToArray();
    }

    [TestCaseSource(nameof(Backends))]
    public void Categories_decide_operand_dtypes(string backend)
    {
        using var _ = BackendRegistry.Use(BackendRegistry.Get(backend));
        using var scope = TensorScope.Begin();
        var a = Tensor.FromArray(Values(6, 1), new Shape(2, 3));
        var b = Tensor.FromArray(Values(12, 2), new Shape(3, 4));
        using (Autocast.Enable(DType.BFloat16))
        {
            var y = Ops.MatMul(a, b);
            y.DType.Should().Be(DType.BFloat16, "matmul is a lower-precision op");
            Ops.Relu(y).DType.Should().Be(DType.BFloat16, "relu passes its operand's dtype through");
            Ops.Softmax(y, -1).DType.Should().Be(DType.Float32, "softmax runs in float32");
            Ops.Sum(y).DType.Should().Be(DType.Float32, "accumulating reductions run in float32");
            Ops.Concat([y, Ops.Ones(new Shape(2, 4))], 0).DType.Should().Be(DType.Float32, "concat promotes to the widest operand");
            Ops.MatMul(Ops.Cast(a, DType.Float64), Ops.Cast(b, DType.Float64)).DType.Should().Be(DType.Float64, "float64 is left alone");
            using (Autocast.Suspend()) Ops.MatMul(a, b).DType.Should().Be(DType.Float32);
            Autocast.ComputeDType.Should().Be(DType.BFloat16);
        }
        Autocast.IsEnabled.Should().BeFalse();
        Ops.MatMul(a, b).DType.Should().Be(DType.Float32);
    }

    private static readonly object[] LowCases = [new object[] { "torch", DType.BFloat16 }, new object[] { "graph", DType.BFloat16 },
        new object[] { "torch", DType.Float16 }, new object[] { "graph", DType.Float16 }];

    private static float Round(float v, DType dt) => dt == DType.BFloat16 ? Bf16(v) : (float)(Half)v;

    [TestCaseSource(nameof(LowCases))]
    public void Autocast_linear_matches_a_float64_reference_and_its_weight_gradient_stays_float32(string backend, DType low)
    {
        // Unit roundoff of the compute dtype: 2^-8 for bf16, 2^-11 for fp16. Whether the backend runs the dtype natively
        // or through float32 kernels between casts, the result is the rounded float32-accumulated sum.
        double U = low == DType.BFloat16 ? 1.0 / 256 : 1.0 / 2048;
        float Bf16(float v) => Round(v, low);
        using var _ = BackendRegistry.Use(BackendRegistry.Get(backend));
        using var scope = TensorScope.Begin();
        const int N = 4, K = 64, M = 5;
        float[] xs = Values(N * K, 3), ws = Values(M * K, 4), bs = Values(M, 5);
        var x = Tensor.FromArray(xs, new Shape(N, K));
        using var w = new Variable(Tensor.FromArray(ws, new Shape(M, K)), trainable: true, "w");
        using var bias = new Variable(Tensor.FromArray(bs, new Shape(M)), trainable: true, "b");
        Tensor y;
        using (Autocast.Enable(low)) y = Ops.Linear(x, w.Value, bias.Value);
        y.DType.Should().Be(low);
        var got = y.ToFloatArray();
        for (int n = 0; n < N; n++)
            for (int m = 0; m < M; m++)
            {
                double r = Bf16(bs[m]), mag = Math.Abs(Bf16(bs[m]));
                for (int k = 0; k < K; k++)
                {
                    double p = (double)Bf16(xs[n * K + k]) * Bf16(ws[m * K + k]);
                    r += p;
                    mag += Math.Abs(p);
                }
                got[n * M + m].Should().BeApproximately((float)r, (float)(U * Math.Abs(r) + (K + 2) * Math.Pow(2, -24) * mag + 1e-30));
            }
        // The loss sums y in float32; dL/dW[m,k] = Σ_n bf16(x[n,k]), computed by a bf16 matmul and cast back to W's dtype.
        Ops.Sum(Ops.Cast(y, DType.Float32)).Backward();
        w.Grad!.DType.Should().Be(DType.Float32, "gradients reach the variable in its own dtype");
        bias.Grad!.DType.Should().Be(DType.Float32);
        var gw = w.Grad.ToFloatArray();
        for (int m = 0; m < M; m++)
            for (int k = 0; k < K; k++)
            {
                double r = 0, mag = 0;
                for (int n = 0; n < N; n++)
                {
                    r += Bf16(xs[n * K + k]);
                    mag += Math.Abs(Bf16(xs[n * K + k]));
                }
                gw[m * K + k].Should().BeApproximately((float)r, (float)(U * Math.Abs(r) + (N + 1) * U * mag));
            }
    }

    [Test]
    public void Traced_graph_holds_the_casts_and_agrees_with_eager_torch()
    {
        float[] xs = Values(8 * 16, 6);
        float[] Run(string backend, out string? dump)
        {
            using var _ = BackendRegistry.Use(BackendRegistry.Get(backend));
            using var scope = TensorScope.Begin();
            using var model = new Sequential(new Linear(16, 32, rng: new SeededRandom(7)), new ReLU(), new Linear(32, 4, rng: new SeededRandom(8)))
            { Policy = DTypePolicy.MixedBFloat16 };
            var x = Tensor.FromArray(xs, new Shape(8, 16));
            if (backend == "torch")
            {
                dump = null;
                return Ops.Cast(model.Call(x), DType.Float32).ToFloatArray();
            }
            using var fn = new CompiledFunction(a => [Ops.Cast(model.Call(a[0]), DType.Float32)], model.NamedVariables().Values, model: model);
            var result = fn.Call(x)[0].ToFloatArray();
            dump = fn.LastTracedGraph!.Dump();
            return result;
        }
        var eager = Run("torch", out _);
        var traced = Run("graph", out var dumpText);
        dumpText.Should().Contain("= cast(").And.Contain("bfloat16", "autocast's casts are ordinary IR nodes");
        // Two bf16 layers: each output is rounded to bf16 once (u relative), and the second layer sums 32 such terms.
        double scale = eager.Max(v => Math.Abs(v));
        for (int i = 0; i < eager.Length; i++) traced[i].Should().BeApproximately(eager[i], (float)(8 * U * scale));
    }
}
