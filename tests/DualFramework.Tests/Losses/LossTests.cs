using DualFramework.Losses;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Losses;


[TestFixture]
public class LossTests
{
    // ---------- plain C# references (PyTorch's definitions) ----------

    private static double[] LogSoftmaxRow(double[] x, int row, int c)
    {
        double max = double.NegativeInfinity;
        for (int j = 0; j < c; j++) max = Math.Max(max, x[row * c + j]);
        double s = 0;
        for (int j = 0; j < c; j++) s += Math.Exp(x[row * c + j] - max);
        double lse = max + Math.Log(s);
        return Enumerable.Range(0, c).Select(j => x[row * c + j] - lse).ToArray();
    }

    /// <summary>Cross-entropy / NLL reference. <paramref name="logits"/> are log-probabilities when <paramref name="isLogProb"/>.</summary>
    private static double[] CeRef(double[] logits, int n, int c, long[] t, double[]? w, long ignore, double eps, Reduction r, bool isLogProb = false)
    {
        var nll = new double[n];
        var smooth = new double[n];
        double wsum = 0;
        for (int i = 0; i < n; i++)
        {
            if (t[i] == ignore) continue;
            var lp = isLogProb ? logits.Skip(i * c).Take(c).ToArray() : LogSoftmaxRow(logits, i, c);
            double wi = w?[t[i]] ?? 1;
            wsum += wi;
            nll[i] = -wi * lp[t[i]];
            for (int j = 0; j < c; j++) smooth[i] -= (w?[j] ?? 1) * lp[j];
        }
        var per = Enumerable.Range(0, n).Select(i => (1 - eps) * nll[i] + eps / c * smooth[i]).ToArray();
        return r switch
        {
            Reduction.None => per,
            Reduction.Sum => [per.Sum()],
            _ => [((1 - eps) * nll.Sum() + eps / c * smooth.Sum()) / wsum],
        };
    }

    private static double[] Reduce(double[] per, Reduction r) => r switch
    {
        Reduction.None => per,
        Reduction.Sum => [per.Sum()],
        _ => [per.Average()],
    };

    private static double Softplus(double x) => Math.Max(x, 0) + Math.Log(1 + Math.Exp(-Math.Abs(x)));

    private static Tensor T(double[] data, params long[] shape) => Tensor.FromArray(data, new Shape(shape));
    private static Tensor L(params long[] data) => Tensor.FromArray(data, new Shape(data.Length));

    private static readonly double[] Logits = [0.3, -1.2, 2.0, 0.5, 1.1, 0.0, -0.7, 0.9, -2.0, 0.4, 1.5, -0.3, 0.8, 0.8, -1.0];
    private const int N = 5, C = 3;
    private static readonly long[] Targets = [2, 0, 1, 2, 1];
    private static readonly long[] TargetsIgnored = [2, -100, 1, 7, 0]; // -100 default ignore; 7 used with ignoreIndex 7
    private static readonly double[] ClassWeights = [0.2, 1.0, 2.5];

    // ---------- cross-entropy ----------

    [Test]
    public void Cross_entropy_hand_computed_value()
    {
        using var s = TensorScope.Begin();
        // Row 0: logits [0, 0] → log p = −ln 2. Row 1: [ln 3, 0] → p = [3/4, 1/4], target 1 → −ln(1/4) = 2 ln 2.
        var logits = T([0, 0, Math.Log(3), 0], 2, 2);
        var loss = LossFunctions.CrossEntropy(logits, L(0, 1));
        loss.Shape.Should().Be(Shape.Scalar);
        loss.Item().Should().BeApproximately(1.5 * Math.Log(2), 1e-12);
        // Class weights [1, 3]: (1·ln2 + 3·2ln2) / (1 + 3).
        LossFunctions.CrossEntropy(logits, L(0, 1), T([1, 3], 2)).Item().Should().BeApproximately(7 * Math.Log(2) / 4, 1e-12);
        // Smoothing 0.5 without weights, row 0 only: (1−ε)·ln2 + ε/2·(ln2 + ln2) = ln2.
        LossFunctions.CrossEntropy(logits, L(0, -100), labelSmoothing: 0.5).Item().Should().BeApproximately(Math.Log(2), 1e-12);
    }

    public static IEnumerable<TestCaseData> CeCases()
    {
        foreach (var r in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
        {
            yield return new TestCaseData("plain", false, -100L, 0.0, r, false);
            yield return new TestCaseData("weights", true, -100L, 0.0, r, false);
            yield return new TestCaseData("ignore", false, -100L, 0.0, r, true);
            yield return new TestCaseData("ignore7", false, 7L, 0.0, r, true);
            yield return new TestCaseData("smoothing", false, -100L, 0.1, r, false);
            yield return new TestCaseData("weights+ignore", true, -100L, 0.0, r, true);
            yield return new TestCaseData("all three", true, -100L, 0.2, r, true);
            yield return new TestCaseData("all three, ignore7", true, 7L, 0.3, r, true);
            yield return new TestCaseData("smoothing 1", true, -100L, 1.0, r, true);
        }
    }

    private static long[] CaseTargets(bool ignored, long ignoreIndex) =>
        !ignored ? Targets : TargetsIgnored.Select(t => t == -100 && ignoreIndex != -100 ? 0 : t == 7 && ignoreIndex != 7 ? 2 : t).ToArray();

    [TestCaseSource(nameof(CeCases))]
    public void Cross_entropy_matches_reference(string name, bool weighted, long ignoreIndex, double eps, Reduction r, bool ignored)
    {
        using var s = TensorScope.Begin();
        var t = CaseTargets(ignored, ignoreIndex);
        var w = weighted ? ClassWeights : null;
        var got = LossFunctions.CrossEntropy(T(Logits, N, C), L(t), w == null ? null : T(w, C), ignoreIndex, eps, r);
        var expected = CeRef(Logits, N, C, t, w, ignoreIndex, eps, r);
        got.Shape.Should().Be(r == Reduction.None ? new Shape(N) : Shape.Scalar, name);
        GradCheck.AssertClose(got.ToDoubleArray(), expected, 1e-12, 1e-12, name);
        // Float32 logits and a float32 class weight give the same values to float precision, and a float32 result.
        var got32 = LossFunctions.CrossEntropy(Ops.Cast(T(Logits, N, C), DType.Float32), L(t), w == null ? null : Ops.Cast(T(w, C), DType.Float32), ignoreIndex, eps, r);
        got32.DType.Should().Be(DType.Float32);
        GradCheck.AssertClose(got32.ToDoubleArray(), expected, 1e-5, 1e-6, name + " (float32)");
        // The Loss object gives the same value.
        var obj = new CrossEntropyLoss(w == null ? null : T(w, C), ignoreIndex, eps, r);
        obj.Name.Should().Be("cross_entropy");
        GradCheck.AssertClose(obj.Compute(T(Logits, N, C), L(t)).ToDoubleArray(), expected, 1e-12, 1e-12, name + " (Loss object)");
    }

    [TestCaseSource(nameof(CeCases))]
    public void Cross_entropy_gradient(string name, bool weighted, long ignoreIndex, double eps, Reduction r, bool ignored)
    {
        var t = CaseTargets(ignored, ignoreIndex);
        GradCheck.Check(x => LossFunctions.CrossEntropy(x[0], L(t), weighted ? T(ClassWeights, C) : null, ignoreIndex, eps, r),
            Arg.Of([N, C], Logits));
    }

    [Test]
    public void Cross_entropy_accepts_int32_targets_and_weights_of_another_dtype()
    {
        using var s = TensorScope.Begin();
        var t32 = Tensor.FromArray(Targets.Select(v => (int)v).ToArray(), new Shape(N));
        var got = LossFunctions.CrossEntropy(T(Logits, N, C), t32, Ops.Cast(T(ClassWeights, C), DType.Float32));
        got.DType.Should().Be(DType.Float64);
        got.Item().Should().BeApproximately(CeRef(Logits, N, C, Targets, ClassWeights, -100, 0, Reduction.Mean)[0], 1e-6);
    }

    [Test]
    public void Cross_entropy_with_every_target_ignored_is_nan_for_mean_and_zero_for_sum()
    {
        using var s = TensorScope.Begin();
        var t = L(-100, -100, -100, -100, -100);
        double.IsNaN(LossFunctions.CrossEntropy(T(Logits, N, C), t).Item()).Should().BeTrue("PyTorch divides 0 by 0");
        LossFunctions.CrossEntropy(T(Logits, N, C), t, reduction: Reduction.Sum).Item().Should().Be(0);
    }

    [Test]
    public void Cross_entropy_is_stable_for_large_logits()
    {
        using var s = TensorScope.Begin();
        var logits = Ops.Cast(T([1000, -1000, 0, 500, 500, -500], 2, 3), DType.Float32);
        var got = LossFunctions.CrossEntropy(logits, L(1, 2), labelSmoothing: 0.1, reduction: Reduction.None).ToDoubleArray();
        var expected = CeRef([1000, -1000, 0, 500, 500, -500], 2, 3, [1, 2], null, -100, 0.1, Reduction.None);
        GradCheck.AssertClose(got, expected, 1e-6, 1e-3, "large logits");
    }

    // ---------- NLL ----------

    public static IEnumerable<TestCaseData> NllCases()
    {
        foreach (var r in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
        {
            yield return new TestCaseData(false, false, r);
            yield return new TestCaseData(true, false, r);
            yield return new TestCaseData(false, true, r);
            yield return new TestCaseData(true, true, r);
        }
    }

    private static double[] LogProbs() =>
        Enumerable.Range(0, N).SelectMany(i => LogSoftmaxRow(Logits, i, C)).ToArray();

    [TestCaseSource(nameof(NllCases))]
    public void Nll_matches_reference(bool weighted, bool ignored, Reduction r)
    {
        using var s = TensorScope.Begin();
        var lp = LogProbs();
        var t = CaseTargets(ignored, -100);
        var w = weighted ? ClassWeights : null;
        var got = LossFunctions.Nll(T(lp, N, C), L(t), w == null ? null : T(w, C), -100, r);
        var expected = CeRef(lp, N, C, t, w, -100, 0, r, isLogProb: true);
        GradCheck.AssertClose(got.ToDoubleArray(), expected, 1e-12, 1e-12, "nll");
        var obj = new NllLoss(w == null ? null : T(w, C), -100, r);
        obj.Name.Should().Be("nll");
        GradCheck.AssertClose(obj.Compute(T(lp, N, C), L(t)).ToDoubleArray(), expected, 1e-12, 1e-12, "nll object");
        // NLL on arbitrary scores is just −w·x at the target (no normalisation).
        var raw = LossFunctions.Nll(T(Logits, N, C), L(t), w == null ? null : T(w, C), -100, r);
        GradCheck.AssertClose(raw.ToDoubleArray(), CeRef(Logits, N, C, t, w, -100, 0, r, isLogProb: true), 1e-12, 1e-12, "nll raw");
    }

    [TestCaseSource(nameof(NllCases))]
    public void Nll_gradient(bool weighted, bool ignored, Reduction r)
    {
        var t = CaseTargets(ignored, -100);
        GradCheck.Check(x => LossFunctions.Nll(x[0], L(t), weighted ? T(ClassWeights, C) : null, -100, r), Arg.Of([N, C], LogProbs()));
    }

    [Test]
    public void Cross_entropy_and_nll_errors()
    {
        using var s = TensorScope.Begin();
        var x = T(Logits, N, C);
        var t = L(Targets);
        FluentActions.Invoking(() => LossFunctions.CrossEntropy(x, t, labelSmoothing: -0.1)).Should().Throw<OpException>().WithMessage("*label smoothing -0.1 must be in [0, 1]*");
        FluentActions.Invoking(() => LossFunctions.CrossEntropy(x, t, labelSmoothing: 1.5)).Should().Throw<OpException>().WithMessage("*label smoothing*");
        FluentActions.Invoking(() => LossFunctions.CrossEntropy(x, t, labelSmoothing: double.NaN)).Should().Throw<OpException>().WithMessage("*label smoothing*");
        FluentActions.Invoking(() => LossFunctions.CrossEntropy(T(Logits, 15), L(1))).Should().Throw<OpException>().WithMessage("cross_entropy*rank 1*");
        FluentActions.Invoking(() => LossFunctions.CrossEntropy(x, L(1, 2))).Should().Throw<OpException>().WithMessage("cross_entropy*targets must be [N] = [5]*");
        FluentActions.Invoking(() => LossFunctions.CrossEntropy(x, Tensor.FromArray(Targets, new Shape(5, 1)))).Should().Throw<OpException>().WithMessage("*targets must be [N]*");
        FluentActions.Invoking(() => LossFunctions.CrossEntropy(x, Ops.Cast(t, DType.Float32))).Should().Throw<OpException>().WithMessage("*integer class indices*");
        FluentActions.Invoking(() => LossFunctions.CrossEntropy(x, t, T([1, 2], 2))).Should().Throw<OpException>().WithMessage("*class weights must be [C] = [3]*");
        FluentActions.Invoking(() => LossFunctions.CrossEntropy(x, t, T([1, 2, 3], 1, 3))).Should().Throw<OpException>().WithMessage("*class weights*");
        FluentActions.Invoking(() => LossFunctions.CrossEntropy(x, L(0, 1, 3, 2, 1))).Should().Throw<OpException>().WithMessage("cross_entropy*target 3 out of range [0, 3)*");
        FluentActions.Invoking(() => LossFunctions.CrossEntropy(x, L(0, -1, 2, 2, 1))).Should().Throw<OpException>().WithMessage("*target -1 out of range*");
        FluentActions.Invoking(() => LossFunctions.CrossEntropy(x, L(0, -100, 2, 2, 1), ignoreIndex: 1)).Should().Throw<OpException>().WithMessage("*target -100 out of range*");
        FluentActions.Invoking(() => LossFunctions.Nll(x, L(0, 1, 5, 2, 1))).Should().Throw<OpException>().WithMessage("nll*target 5 out of range*");
        FluentActions.Invoking(() => LossFunctions.Nll(x, t, T([1, 2, 3, 4], 4))).Should().Throw<OpException>().WithMessage("nll*class weights*");
    }

    // ---------- regression losses ----------

    private static readonly double[] Pred = [0.5, -1.25, 2.0, 3.5, -0.2, 0.9];
    private static readonly double[] Targ = [0.0, 0.75, 2.3, 1.0, -0.1, -0.6];

    private static IEnumerable<Reduction> AllReductions => [Reduction.Mean, Reduction.Sum, Reduction.None];

    [Test]
    public void Mse_and_l1_hand_computed()
    {
        using var s = TensorScope.Begin();
        // d = [1, −2, 3]: MSE = 14/3, L1 = 2.
        LossFunctions.Mse(T([2, 0, 3], 3), T([1, 2, 0], 3)).Item().Should().BeApproximately(14.0 / 3, 1e-12);
        LossFunctions.L1(T([2, 0, 3], 3), T([1, 2, 0], 3)).Item().Should().BeApproximately(2, 1e-12);
    }

    [Test]
    public void Regression_losses_match_reference([ValueSource(nameof(AllReductions))] Reduction r)
    {
        using var s = TensorScope.Begin();
        var d = Pred.Zip(Targ, (a, b) => a - b).ToArray();
        var p = T(Pred, 2, 3);
        var y = T(Targ, 2, 3);
        var mse = LossFunctions.Mse(p, y, r);
        mse.Shape.Should().Be(r == Reduction.None ? new Shape(2, 3) : Shape.Scalar);
        GradCheck.AssertClose(mse.ToDoubleArray(), Reduce(d.Select(v => v * v).ToArray(), r), 1e-12, 1e-12, "mse");
        GradCheck.AssertClose(new MseLoss(r).Compute(p, y).ToDoubleArray(), Reduce(d.Select(v => v * v).ToArray(), r), 1e-12, 1e-12, "mse object");
        GradCheck.AssertClose(LossFunctions.L1(p, y, r).ToDoubleArray(), Reduce(d.Select(Math.Abs).ToArray(), r), 1e-12, 1e-12, "l1");
        GradCheck.AssertClose(new L1Loss(r).Compute(p, y).ToDoubleArray(), Reduce(d.Select(Math.Abs).ToArray(), r), 1e-12, 1e-12, "l1 object");
        // δ = 1.2: |d| = [0.5, 2, 0.3, 2.5, 0.1, 1.5] covers both branches.
        const double delta = 1.2;
        var huber = d.Select(v => Math.Abs(v) <= delta ? 0.5 * v * v : delta * (Math.Abs(v) - 0.5 * delta)).ToArray();
        GradCheck.AssertClose(LossFunctions.Huber(p, y, delta, r).ToDoubleArray(), Reduce(huber, r), 1e-12, 1e-12, "huber");
        GradCheck.AssertClose(new HuberLoss(delta, r).Compute(p, y).ToDoubleArray(), Reduce(huber, r), 1e-12, 1e-12, "huber object");
    }

    [Test]
    public void Huber_hand_computed_at_both_branches_and_the_boundary()
    {
        using var s = TensorScope.Begin();
        // δ = 2: d = 1 → ½; d = −3 → 2·(3 − 1) = 4; d = 2 (boundary) → 2 from both formulas.
        var got = LossFunctions.Huber(T([1, -3, 2], 3), T([0, 0, 0], 3), 2.0, Reduction.None).ToDoubleArray();
        got.Should().Equal(0.5, 4.0, 2.0);
        LossFunctions.Huber(T([1, -3, 2], 3), T([0, 0, 0], 3), 2.0).Item().Should().BeApproximately(6.5 / 3, 1e-12);
    }

    [Test]
    public void Regression_loss_gradients([ValueSource(nameof(AllReductions))] Reduction r)
    {
        GradCheck.Check(x => LossFunctions.Mse(x[0], x[1], r), Arg.Of([2, 3], Pred), Arg.Of([2, 3], Targ));
        GradCheck.Check(x => LossFunctions.L1(x[0], x[1], r), Arg.Of([2, 3], Pred), Arg.Of([2, 3], Targ));
        GradCheck.Check(x => LossFunctions.Huber(x[0], x[1], 1.2, r), Arg.Of([2, 3], Pred), Arg.Of([2, 3], Targ));
    }

    [Test]
    public void Regression_loss_errors()
    {
        using var s = TensorScope.Begin();
        var a = T(Pred, 2, 3);
        var b = T(Pred, 3, 2);
        FluentActions.Invoking(() => LossFunctions.Mse(a, b)).Should().Throw<OpException>().WithMessage("mse*same shape*");
        FluentActions.Invoking(() => LossFunctions.L1(a, T(Pred, 6))).Should().Throw<OpException>().WithMessage("l1*same shape*");
        FluentActions.Invoking(() => LossFunctions.Huber(a, b)).Should().Throw<OpException>().WithMessage("huber*same shape*");
        FluentActions.Invoking(() => LossFunctions.Huber(a, a, 0)).Should().Throw<OpException>().WithMessage("huber*delta 0 must be positive*");
        FluentActions.Invoking(() => LossFunctions.Huber(a, a, double.NaN)).Should().Throw<OpException>().WithMessage("huber*delta*");
    }

    // ---------- BCE with logits ----------

    private static readonly double[] BLogits = [0.3, -1.2, 2.0, 0.5, -3.0, 0.0, 4.0, -0.7];
    private static readonly double[] BTargets = [1, 0, 1, 0.3, 0, 1, 0, 0.8];
    private static readonly double[] PosW = [0.5, 2.0, 3.0, 1.0];
    private static readonly double[] ElemW = [1.0, 0.5, 2.0, 0.0, 1.5, 1.0, 0.25, 3.0];

    private static double[] BceRef(double[] x, double[] y, double[]? pw, double[]? w)
    {
        var r = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            // The textbook form −w·[p⁺·y·log σ(x) + (1 − y)·log(1 − σ(x))], with log σ(x) = −softplus(−x).
            r[i] = (pw == null ? 1 : pw[i % pw.Length]) * y[i] * Softplus(-x[i]) + (1 - y[i]) * Softplus(x[i]);
            if (w != null) r[i] *= w[i];
        }
        return r;
    }

    [Test]
    public void Bce_with_logits_hand_computed()
    {
        using var s = TensorScope.Begin();
        // x = 0: loss = ln 2 for any y. x = ln 3, y = 1: −ln(3/4). pos_weight 2 doubles the positive term.
        var got = LossFunctions.BceWithLogits(T([0, Math.Log(3)], 2), T([0.25, 1], 2), reduction: Reduction.None).ToDoubleArray();
        GradCheck.AssertClose(got, [Math.Log(2), -Math.Log(0.75)], 1e-12, 1e-15, "bce");
        var pw = LossFunctions.BceWithLogits(T([0, Math.Log(3)], 2), T([0.25, 1], 2), T([2.0], 1), reduction: Reduction.None).ToDoubleArray();
        GradCheck.AssertClose(pw, [2 * 0.25 * Math.Log(2) + 0.75 * Math.Log(2), -2 * Math.Log(0.75)], 1e-12, 1e-15, "bce pos_weight");
    }

    [Test]
    public void Bce_with_logits_matches_reference([ValueSource(nameof(AllReductions))] Reduction r, [Values] bool posWeight, [Values] bool weight)
    {
        using var s = TensorScope.Begin();
        var pw = posWeight ? PosW : null;
        var w = weight ? ElemW : null;
        var got = LossFunctions.BceWithLogits(T(BLogits, 2, 4), T(BTargets, 2, 4), pw == null ? null : T(pw, 4), w == null ? null : T(w, 2, 4), r);
        got.Shape.Should().Be(r == Reduction.None ? new Shape(2, 4) : Shape.Scalar);
        GradCheck.AssertClose(got.ToDoubleArray(), Reduce(BceRef(BLogits, BTargets, pw, w), r), 1e-12, 1e-12, "bce");
        if (!weight)
        {
            var obj = new BceWithLogitsLoss(pw == null ? null : T(pw, 4), r);
            obj.Name.Should().Be("bce_with_logits");
            GradCheck.AssertClose(obj.Compute(T(BLogits, 2, 4), T(BTargets, 2, 4)).ToDoubleArray(), Reduce(BceRef(BLogits, BTargets, pw, null), r), 1e-12, 1e-12, "bce object");
        }
    }

    [Test]
    public void Bce_with_logits_gradient([ValueSource(nameof(AllReductions))] Reduction r, [Values] bool posWeight)
    {
        GradCheck.Check(x => LossFunctions.BceWithLogits(x[0], x[1], posWeight ? T(PosW, 4) : null, T(ElemW, 2, 4), r),
            Arg.Of([2, 4], BLogits), Arg.Of([2, 4], BTargets));
    }

    [Test]
    public void Bce_with_logits_extreme_logits_are_finite([Values(DType.Float32, DType.Float64)] DType dtype)
    {
        using var s = TensorScope.Begin();
        double[] x = [100, -100, 100, -100, 50, -50];
        double[] y = [1, 1, 0, 0, 0.5, 0.5];
        var logits = Ops.Cast(T(x, 6), dtype);
        logits.RequiresGrad = true;
        var per = LossFunctions.BceWithLogits(logits, Ops.Cast(T(y, 6), dtype), Ops.Cast(T([3.0], 1), dtype), reduction: Reduction.None);
        per.DType.Should().Be(dtype);
        var got = per.ToDoubleArray();
        got.Should().OnlyContain(v => double.IsFinite(v));
        GradCheck.AssertClose(got, BceRef(x, y, [3.0], null), 1e-6, 1e-6, "extreme logits");
        Ops.Sum(per).Backward();
        var g = logits.Grad!.ToDoubleArray();
        g.Should().OnlyContain(v => double.IsFinite(v));
        // d/dx = (1 + (p⁺ − 1)y)·σ(x) − p⁺·y... i.e. σ(x)·(1 − y + p⁺y) − p⁺y.
        var expected = x.Select((v, i) => 1 / (1 + Math.Exp(-v)) * (1 - y[i] + 3 * y[i]) - 3 * y[i]).ToArray();
        GradCheck.AssertClose(g, expected, 1e-6, 1e-6, "extreme logits gradient");
    }

    [Test]
    public void Bce_with_logits_errors()
    {
        using var s = TensorScope.Begin();
        var x = T(BLogits, 2, 4);
        var y = T(BTargets, 2, 4);
        FluentActions.Invoking(() => LossFunctions.BceWithLogits(x, T(BTargets, 8))).Should().Throw<OpException>().WithMessage("bce_with_logits*same shape*");
        FluentActions.Invoking(() => LossFunctions.BceWithLogits(x, y, T([1, 2, 3], 3))).Should().Throw<OpException>().WithMessage("bce_with_logits*pos_weight*broadcast*");
        FluentActions.Invoking(() => LossFunctions.BceWithLogits(x, y, weight: T([1, 2, 3], 3))).Should().Throw<OpException>().WithMessage("bce_with_logits*weight*broadcast*");
        FluentActions.Invoking(() => LossFunctions.BceWithLogits(x, y, weight: T(ElemW, 1, 2, 4))).Should().Throw<OpException>().WithMessage("bce_with_logits*weight*broadcast*");
    }

    [Test]
    public void Bce_with_logits_broadcasts_weights_and_keeps_the_logits_dtype()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Cast(T(BLogits, 2, 4), DType.Float32);
        var y = Ops.Cast(T(BTargets, 2, 4), DType.Float32);
        // Float64 pos_weight / weight must not promote a float32 loss; a [2, 1] weight broadcasts per row.
        var got = LossFunctions.BceWithLogits(x, y, T(PosW, 4), T([2.0, 0.5], 2, 1), Reduction.None);
        got.DType.Should().Be(DType.Float32);
        var w = Enumerable.Range(0, 8).Select(i => i < 4 ? 2.0 : 0.5).ToArray();
        GradCheck.AssertClose(got.ToDoubleArray(), BceRef(BLogits, BTargets, PosW, w), 1e-6, 1e-6, "broadcast weight");
    }
}
