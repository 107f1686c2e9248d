using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.OnnxRuntime;
using DualFramework.Operators;
using DualFramework.Tests.Onnx;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Parity;

/// <summary>
/// Half-precision operands on the graph backend, whose ONNX Runtime CPU kernels are mostly float32-only: every op case with
/// floating operands runs with those operands in bfloat16 and in float16, eagerly and compiled, and agrees with the torch
/// backend, which runs both formats natively.
/// </summary>
/// <remarks>
/// Error model. Both backends compute a half-precision op from the same half-precision operands in float32 (libtorch's CPU
/// kernels widen internally, as the graph backend's casts do) and round the result once to the format, whose unit roundoff
/// is u = 2⁻⁸ for bfloat16 and 2⁻¹¹ for float16. The two float32 values differ by float32 noise only, so the rounded results
/// differ by at most one ulp (≤ 2u·|y|) plus, near zero, an ulp of the output's magnitude. Libtorch rounds some composite ops'
/// intermediates to the format (e.g. the log-softmax inside cross-entropy, the statistics of normalisations), and the ops
/// that accumulate K terms (matmul, convolutions, reductions, normalisations) may round partial sums: those get K·u of the
/// output's magnitude more. So |graph − torch| ≤ u·(4·|torch| + (1 + K)·max|torch|) per element, K = 0 for elementwise ops.
/// </remarks>
[TestFixture]
[Category("Parity")]
public class LowPrecisionParityTests
{
    private static readonly IComputeBackend Torch = BackendRegistry.Get("torch");
    private static readonly IComputeBackend Graph = BackendRegistry.Get("graph");

    internal static double UnitRoundoff(DType dt) => dt == DType.BFloat16 ? 1.0 / 256 : 1.0 / 2048;

    private static bool IsWideFloat(DType dt) => dt is DType.Float32 or DType.Float64;

    public static IEnumerable<TestCaseData> Cases()
    {
        using var scope = TensorScope.Begin();
        foreach (var c in OnnxOpCases.All.Where(c => c.Kind == CaseKind.Compare && c.Inputs().Any(t => IsWideFloat(t.DType))))
            foreach (var dt in new[] { DType.BFloat16, DType.Float16 })
                yield return new TestCaseData(c.Name, dt).SetName($"LowPrecision_{c.Name}_{dt}");
    }

    /// <summary>Terms combined into one output element by the ops that accumulate (an upper bound from the operand shapes).</summary>
    private static long Terms(Op op, Tensor[] inputs, Tensor output)
    {
        if (ReferenceEquals(op, OpSet.MatMul) || ReferenceEquals(op, OpSet.Linear)) return inputs[0].Shape[inputs[0].Shape.Rank - 1];
        if (ReferenceEquals(op, OpSet.Conv) || ReferenceEquals(op, OpSet.ConvTranspose)) return inputs[1].NumElements / Math.Min(inputs[1].Shape[0], inputs[1].Shape[1]);
        // Each step sums I input and H recurrent products into a state the later steps read: T·(I + H) terms reach the end.
        if (op is RecurrentOp) return inputs[0].Shape[0] * (inputs[0].Shape[2] + inputs[2].Shape[2]);
        string[] reducing = ["sum", "mean", "prod", "cumsum", "softmax", "log_softmax", "layer_norm", "batch_norm", "cross_entropy", "avg_pool2d", "adaptive_avg_pool2d"];
        return reducing.Contains(op.Name) ? Math.Max(1, inputs[0].NumElements / Math.Max(1, output.NumElements)) + inputs[0].Shape[inputs[0].Shape.Rank - 1] : 0;
    }

    internal static void AssertClose(Tensor got, Tensor want, DType dt, long terms, string because)
    {
        got.Spec.Should().Be(want.Spec, because);
        if (want.DType == DType.Bool)
        {
            got.ToArray<bool>().Should().Equal(want.ToArray<bool>(), because);
            return;
        }
        if (!want.DType.IsFloating())
        {
            got.ToFloatArray().Should().Equal(want.ToFloatArray(), because);
            return;
        }
        var g = got.ToFloatArray();
        var w = want.ToFloatArray();
        double u = UnitRoundoff(dt), scale = w.Length == 0 ? 0 : w.Max(v => Math.Abs((double)v));
        for (int i = 0; i < w.Length; i++)
        {
            double tol = u * (4 * Math.Abs(w[i]) + (1 + terms) * scale);
            Math.Abs(g[i] - (double)w[i]).Should().BeLessThanOrEqualTo(tol, $"{because}, element {i}: graph {g[i]}, torch {w[i]}");
        }
    }

    private static Tensor Move(Tensor t, IComputeBackend b) => Tensor.FromBytes(t.ToBytes(), t.Spec, b);

    [TestCaseSource(nameof(Cases))]
    public void Half_precision_operands_run_on_the_graph_backend_eagerly_and_compiled_and_match_torch(string name, DType dt)
    {
        var c = OnnxOpCases.All.Single(k => k.Name == name);
        using var scope = TensorScope.Begin();
        var inputs = c.Inputs().Select(t => IsWideFloat(t.DType) ? Ops.Cast(t, dt) : t).ToArray();
        var want = Dispatcher.ApplyMulti(c.Op, c.Attrs, inputs.Select(t => Move(t, Torch)).ToArray());
        var onGraph = inputs.Select(t => Move(t, Graph)).ToArray();
        var eager = Dispatcher.ApplyMulti(c.Op, c.Attrs, onGraph);
        using var f = new CompiledFunction(a => Dispatcher.ApplyMulti(c.Op, c.Attrs, a), name: name);
        var compiled = f.Call(onGraph);

        eager.Length.Should().Be(want.Length);
        compiled.Length.Should().Be(want.Length);
        for (int i = 0; i < want.Length; i++)
        {
            long k = Terms(c.Op, inputs, want[i]);
            AssertClose(eager[i], want[i], dt, k, $"{name} in {dt}, eager output {i}");
            AssertClose(compiled[i], want[i], dt, k, $"{name} in {dt}, compiled output {i}");
        }

        // The lowered graph shows how it ran: an op without a kernel at dt reads only float32 behind explicit casts.
        var lowered = ((OrtExecutable)f.LastExecutable!).Graph;
        var node = lowered.Nodes.SingleOrDefault(n => ReferenceEquals(n.Op, c.Op));
        if (node == null) return; // folded away (e.g. a slice of the whole tensor)
        bool halfIn = node.Inputs.Any(v => v.Spec.DType == dt);
        if (OrtLowPrecisionSupport.CanRun(c.Op, dt)) halfIn.Should().BeTrue($"{name} runs in {dt} as it is:\n{lowered.Dump()}");
        else
        {
            halfIn.Should().BeFalse($"{name} has no {dt} kernel:\n{lowered.Dump()}");
            lowered.Dump().Should().Contain("= cast(");
        }
    }

    private static Tensor Param(int seed, double bound, DType dt, params long[] shape)
    {
        var r = new Random(seed);
        var n = new Shape(shape).NumElements;
        var v = new float[n];
        for (long i = 0; i < n; i++) v[i] = (float)((2 * r.NextDouble() - 1) * bound);
        return Ops.Cast(Tensor.FromArray(v, new Shape(shape), Torch), dt);
    }

    // conv 3×3 (1→4 channels) → relu → 2×2 max pool → flatten → linear 64→16 → relu → linear 16→10: the logits.
    private static Tensor[] Cnn(Tensor[] a)
    {
        var h = Ops.MaxPool2d(Ops.Relu(Ops.Conv2d(a[0], a[1], a[2], padding: 1)), 2);
        h = Ops.Relu(Ops.Linear(Ops.Reshape(h, a[0].Shape[0], 64), a[3], a[4]));
        return [Ops.Linear(h, a[5], a[6])];
    }

    /// <summary>
    /// A small CNN forward with half-precision weights and inputs, compiled on the graph backend, against the same forward on
    /// torch. Each of the three layers that compute (conv, linear, linear) rounds its result once on both backends; a
    /// last-place difference in a layer's result reaches the logits through the next layer's weights as at most a few
    /// ulps of the logits' magnitude. Bound: u·(4·|torch| + 4·L·max|torch|) with L = 3 rounding layers.
    /// </summary>
    [TestCase(DType.BFloat16)]
    [TestCase(DType.Float16)]
    public void A_small_cnn_with_half_precision_weights_compiles_on_the_graph_backend_and_matches_torch(DType dt)
    {
        using var scope = TensorScope.Begin();
        Tensor[] args =
        [
            Param(1, 1, dt, 4, 1, 8, 8), Param(2, 1.0 / 3, dt, 4, 1, 3, 3), Param(3, 0.1, dt, 4),
            Param(4, 1.0 / 8, dt, 16, 64), Param(5, 0.1, dt, 16), Param(6, 0.25, dt, 10, 16), Param(7, 0.1, dt, 10),
        ];
        var want = Cnn(args)[0];
        using var f = new CompiledFunction(Cnn, name: "cnn");
        var got = f.Call(args.Select(t => Move(t, Graph)).ToArray())[0];

        got.Spec.Should().Be(new TensorSpec(new Shape(4, 10), dt));
        var g = got.ToFloatArray();
        var w = want.ToFloatArray();
        double u = UnitRoundoff(dt), scale = w.Max(v => Math.Abs((double)v));
        scale.Should().BeGreaterThan(0.1, "the logits are not all near zero");
        double worst = 0;
        for (int i = 0; i < w.Length; i++)
        {
            double tol = u * (4 * Math.Abs(w[i]) + 4 * 3 * scale);
            worst = Math.Max(worst, Math.Abs(g[i] - w[i]) / tol);
            Math.Abs(g[i] - (double)w[i]).Should().BeLessThanOrEqualTo(tol, $"logit {i}: graph {g[i]}, torch {w[i]}");
        }
        TestContext.Out.WriteLine($"{dt}: worst error / tolerance = {worst:F3}, max |logit| = {scale:F3}");

        // The compiled graph: conv and both linears read float32 behind casts; the pool and reshape run in the format.
        var dump = ((OrtExecutable)f.LastExecutable!).Graph.Dump();
        var lowered = ((OrtExecutable)f.LastExecutable!).Graph;
        foreach (var n in lowered.Nodes.Where(n => n.Op.Name is "conv" or "linear"))
            n.Inputs.Should().OnlyContain(v => v.Spec.DType == DType.Float32, dump);
        lowered.Nodes.Single(n => ReferenceEquals(n.Op, OpSet.Reshape)).Inputs[0].Spec.DType.Should().Be(dt, dump);
        lowered.Outputs[0].Producer!.Op.Should().BeSameAs(OpSet.Cast, dump);
    }
}
