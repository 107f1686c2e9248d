using DualFramework.Autodiff;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Optim;

/// <summary>
/// Optimizers' first steps against the published PyTorch update equations, evaluated here in plain doubles on a fixed
/// gradient sequence.
/// </summary>
[TestFixture]
public class OptimizerTests
{
    // ---------- plain C# references: one instance per parameter, elementwise ----------

    private abstract class Ref(int n)
    {
        protected readonly int N = n;
        public int T;
        public abstract void Step(double[] p, double[] g, double lr);
    }

    private sealed class SgdRef(int n, double momentum, double dampening, double wd, bool nesterov) : Ref(n)
    {
        private double[]? _buf;
        public override void Step(double[] p, double[] g0, double lr)
        {
            T++;
            var g = g0.Select((v, i) => v + wd * p[i]).ToArray();
            if (momentum != 0)
            {
                _buf = _buf == null ? (double[])g.Clone() : _buf.Select((b, i) => momentum * b + (1 - dampening) * g[i]).ToArray();
                g = nesterov ? g.Select((v, i) => v + momentum * _buf[i]).ToArray() : (double[])_buf.Clone();
            }
            for (int i = 0; i < N; i++) p[i] -= lr * g[i];
        }
    }

    private sealed class AdamRef(int n, double b1, double b2, double eps, double wd, bool amsgrad, bool decoupled) : Ref(n)
    {
        private readonly double[] _m = new double[n], _v = new double[n], _vmax = new double[n];
        public override void Step(double[] p, double[] g0, double lr)
        {
            T++;
            var g = (double[])g0.Clone();
            for (int i = 0; i < N; i++)
            {
                if (decoupled) p[i] *= 1 - lr * wd;
                else g[i] += wd * p[i];
                _m[i] = b1 * _m[i] + (1 - b1) * g[i];
                _v[i] = b2 * _v[i] + (1 - b2) * g[i] * g[i];
                _vmax[i] = Math.Max(_vmax[i], _v[i]);
                double bc1 = 1 - Math.Pow(b1, T), bc2 = 1 - Math.Pow(b2, T);
                double denom = Math.Sqrt(amsgrad ? _vmax[i] : _v[i]) / Math.Sqrt(bc2) + eps;
                p[i] -= lr / bc1 * _m[i] / denom;
            }
        }
    }

    private sealed class RmsRef(int n, double alpha, double eps, double wd, double momentum, bool centered) : Ref(n)
    {
        private readonly double[] _sq = new double[n], _ga = new double[n], _buf = new double[n];
        public override void Step(double[] p, double[] g0, double lr)
        {
            T++;
            for (int i = 0; i < N; i++)
            {
                double g = g0[i] + wd * p[i];
                _sq[i] = alpha * _sq[i] + (1 - alpha) * g * g;
                double avg = _sq[i];
                if (centered)
                {
                    _ga[i] = alpha * _ga[i] + (1 - alpha) * g;
                    avg -= _ga[i] * _ga[i];
                }
                double denom = Math.Sqrt(avg) + eps;
                if (momentum > 0)
                {
                    _buf[i] = momentum * _buf[i] + g / denom;
                    p[i] -= lr * _buf[i];
                }
                else p[i] -= lr * g / denom;
            }
        }
    }

    // ---------- driver ----------

    private static readonly double[] W0 = [0.5, -1.5, 2.0, 0.1];
    private static readonly double[] B0 = [0.3, -0.2, 1.2];

    // Gradients per step (sign changes, a zero, varying magnitudes); step 3 changes the learning rate.
    private static readonly double[][] WGrads = [[0.2, -0.4, 1.0, 0.0], [-0.1, -0.3, 0.5, 0.25], [0.4, 0.2, -2.0, 0.05], [0.05, -0.6, 0.3, -0.5], [1.5, 0.1, 0.0, -0.2]];
    private static readonly double[][] BGrads = [[1.0, 0.5, -0.5], [0.8, -0.25, 0.1], [-0.3, 0.7, 0.2], [0.0, -0.1, 0.9], [0.2, 0.2, -0.4]];

    private static Variable Param(double[] data, Shape shape, string name, DType dtype) =>
        new(Ops.Cast(Tensor.FromArray(data, shape), dtype).DetachFromScope(), trainable: true, name);

    private static void SetGrad(Variable v, double[] g) => v.Value.Grad = Ops.Cast(Tensor.FromArray(g, v.Value.Shape), v.Value.DType);

    /// <summary>Runs <paramref name="steps"/> steps on two parameters and compares with the references after each.</summary>
    private static void CheckSequence(Func<Variable[], Optimizer> make, Func<int, Ref> reference, DType dtype, double lr, int steps = 5)
    {
        using var s = TensorScope.Begin();
        using var w = Param(W0, new Shape(2, 2), "w", dtype);
        using var b = Param(B0, new Shape(3), "b", dtype);
        using var opt = make([w, b]);
        var pw = (double[])W0.Clone();
        var pb = (double[])B0.Clone();
        var rw = reference(4);
        var rb = reference(3);
        double rtol = dtype == DType.Float64 ? 1e-12 : 2e-6, atol = dtype == DType.Float64 ? 1e-14 : 1e-7;
        for (int k = 0; k < steps; k++)
        {
            double stepLr = k >= 3 ? lr * 0.5 : lr;
            opt.LearningRate = stepLr;
            SetGrad(w, WGrads[k]);
            SetGrad(b, BGrads[k]);
            opt.Step();
            rw.Step(pw, WGrads[k], stepLr);
            rb.Step(pb, BGrads[k], stepLr);
            opt.StepCount.Should().Be(k + 1);
            w.Value.DType.Should().Be(dtype);
            GradCheck.AssertClose(w.Value.ToDoubleArray(), pw, rtol, atol, $"w after step {k + 1}");
            GradCheck.AssertClose(b.Value.ToDoubleArray(), pb, rtol, atol, $"b after step {k + 1}");
        }
    }

    private static IEnumerable<DType> FloatTypes => [DType.Float64, DType.Float32];

    public static IEnumerable<TestCaseData> SgdCases()
    {
        // momentum, dampening, weight decay, nesterov
        yield return new TestCaseData(0.0, 0.0, 0.0, false).SetName("Sgd plain");
        yield return new TestCaseData(0.0, 0.0, 0.1, false).SetName("Sgd weight decay");
        yield return new TestCaseData(0.9, 0.0, 0.0, false).SetName("Sgd momentum");
        yield return new TestCaseData(0.9, 0.3, 0.0, false).SetName("Sgd momentum dampening");
        yield return new TestCaseData(0.8, 0.0, 0.05, true).SetName("Sgd nesterov weight decay");
        yield return new TestCaseData(0.5, 0.25, 0.2, false).SetName("Sgd all");
    }

    [TestCaseSource(nameof(SgdCases))]
    public void Sgd_first_steps_match_pytorch_equations(double momentum, double dampening, double wd, bool nesterov)
    {
        foreach (var dt in FloatTypes)
            CheckSequence(ps => new Sgd(ps, 0.1, momentum, dampening, wd, nesterov), n => new SgdRef(n, momentum, dampening, wd, nesterov), dt, 0.1);
    }

    public static IEnumerable<TestCaseData> AdamCases()
    {
        // lr, beta1, beta2, eps, weight decay, amsgrad, decoupled
        yield return new TestCaseData(1e-2, 0.9, 0.999, 1e-8, 0.0, false, false).SetName("Adam defaults");
        yield return new TestCaseData(5e-2, 0.8, 0.99, 1e-3, 0.0, false, false).SetName("Adam large eps");
        yield return new TestCaseData(1e-2, 0.9, 0.999, 1e-8, 0.1, false, false).SetName("Adam L2 weight decay");
        yield return new TestCaseData(1e-2, 0.9, 0.9, 1e-6, 0.0, true, false).SetName("Adam amsgrad");
        yield return new TestCaseData(1e-2, 0.5, 0.9, 1e-4, 0.3, true, false).SetName("Adam amsgrad weight decay");
        yield return new TestCaseData(1e-2, 0.9, 0.999, 1e-8, 0.1, false, true).SetName("AdamW");
        yield return new TestCaseData(1e-1, 0.7, 0.95, 1e-3, 0.5, true, true).SetName("AdamW amsgrad");
    }

    [TestCaseSource(nameof(AdamCases))]
    public void Adam_first_steps_match_pytorch_equations(double lr, double b1, double b2, double eps, double wd, bool amsgrad, bool decoupled)
    {
        foreach (var dt in FloatTypes)
            CheckSequence(ps => decoupled ? new AdamW(ps, lr, b1, b2, eps, wd, amsgrad) : new Adam(ps, lr, b1, b2, eps, wd, amsgrad),
                n => new AdamRef(n, b1, b2, eps, wd, amsgrad, decoupled), dt, lr);
    }

    public static IEnumerable<TestCaseData> RmsCases()
    {
        // alpha, eps, weight decay, momentum, centered
        yield return new TestCaseData(0.99, 1e-8, 0.0, 0.0, false).SetName("RmsProp plain");
        yield return new TestCaseData(0.9, 1e-2, 0.0, 0.0, false).SetName("RmsProp large eps");
        yield return new TestCaseData(0.9, 1e-6, 0.0, 0.0, true).SetName("RmsProp centered");
        yield return new TestCaseData(0.9, 1e-6, 0.0, 0.7, false).SetName("RmsProp momentum");
        yield return new TestCaseData(0.8, 1e-4, 0.1, 0.5, true).SetName("RmsProp centered momentum weight decay");
    }

    [TestCaseSource(nameof(RmsCases))]
    public void RmsProp_first_steps_match_pytorch_equations(double alpha, double eps, double wd, double momentum, bool centered)
    {
        foreach (var dt in FloatTypes)
            CheckSequence(ps => new RmsProp(ps, 1e-2, alpha, eps, wd, momentum, centered), n => new RmsRef(n, alpha, eps, wd, momentum, centered), dt, 1e-2);
    }

    [Test]
    public void Adam_first_step_by_hand()
    {
        using var s = TensorScope.Begin();
        // Step 1 of Adam moves every coordinate by −lr·g/(|g| + eps/…) ≈ −lr·sign(g): m̂ = g, v̂ = g².
        using var w = Param([1.0, -2.0], new Shape(2), "w", DType.Float64);
        using var opt = new Adam([w], 0.1, eps: 0);
        SetGrad(w, [3.0, -0.5]);
        opt.Step();
        w.Value.ToDoubleArray().Should().Equal(0.9, -1.9);
    }

    [Test]
    public void Sgd_first_steps_by_hand()
    {
        using var s = TensorScope.Begin();
        // momentum 0.5, lr 0.1, g = 2 then 2: buf = 2 → p = 1 − 0.2 = 0.8; buf = 0.5·2 + 2 = 3 → p = 0.8 − 0.3 = 0.5.
        using var w = Param([1.0], new Shape(1), "w", DType.Float64);
        using var opt = new Sgd([w], 0.1, momentum: 0.5);
        SetGrad(w, [2.0]);
        opt.Step();
        w.Value.Item().Should().BeApproximately(0.8, 1e-15);
        SetGrad(w, [2.0]);
        opt.Step();
        w.Value.Item().Should().BeApproximately(0.5, 1e-15);
    }

    [Test]
    public void Gradients_from_backward_drive_the_update()
    {
        using var s = TensorScope.Begin();
        // loss = Σ c·p has gradient c: three steps of SGD move p by −lr·c each.
        using var w = Param([1.0, 2.0, 3.0], new Shape(3), "w", DType.Float32);
        using var opt = new Sgd([w], 0.5);
        var c = Tensor.FromArray([1f, -2f, 0.5f], new Shape(3));
        for (int k = 0; k < 3; k++)
        {
            using var it = TensorScope.Begin();
            opt.ZeroGrad();
            Ops.Sum(Ops.Mul(w.Value, c)).Backward();
            opt.Step();
        }
        GradCheck.AssertClose(w.Value.ToDoubleArray(), [1 - 1.5, 2 + 3.0, 3 - 0.75], 1e-6, 1e-6, "sgd from backward");
    }

    [Test]
    public void Gradients_survive_the_step_and_accumulate_like_pytorch([Values] bool tape)
    {
        using var s = TensorScope.Begin();
        using var mode = tape ? Autograd.UseTape() : null;
        using var w = Param([1.0, 2.0], new Shape(2), "w", DType.Float64);
        using var opt = new Sgd([w], 0.1);
        var c = Tensor.FromArray([3.0, -1.0], new Shape(2));
        Ops.Sum(Ops.Mul(w.Value, c)).Backward();
        opt.Step();
        w.Grad.Should().NotBeNull("PyTorch keeps .grad after optimizer.step()");
        w.Grad!.ToDoubleArray().Should().Equal(3.0, -1.0);
        // Without ZeroGrad the next backward accumulates, as in PyTorch.
        Ops.Sum(Ops.Mul(w.Value, c)).Backward();
        w.Grad!.ToDoubleArray().Should().Equal(6.0, -2.0);
        opt.Step();
        GradCheck.AssertClose(w.Value.ToDoubleArray(), [1 - 0.3 - 0.6, 2 + 0.1 + 0.2], 1e-15, 1e-15, "two steps");
        opt.ZeroGrad();
        w.Grad.Should().BeNull();
    }

    [Test]
    public void Parameters_without_gradient_are_left_alone()
    {
        using var s = TensorScope.Begin();
        using var w = Param([1.0, 2.0], new Shape(2), "w", DType.Float64);
        using var b = Param([5.0], new Shape(1), "b", DType.Float64);
        using var opt = new Sgd([w, b], 0.1, momentum: 0.9);
        SetGrad(w, [1.0, 1.0]);
        opt.Step();
        b.Value.ToDoubleArray().Should().Equal(5.0);
        opt.StateDict().Keys.Should().BeEquivalentTo(["step", "lr", "w.step", "w.momentum_buffer"]);
    }

    [Test]
    public void Adam_bias_correction_counts_steps_per_parameter()
    {
        using var s = TensorScope.Begin();
        // b has no gradient at step 1: its first update (optimizer step 2) is its own step 1, as in PyTorch.
        using var w = Param([1.0, -1.0], new Shape(2), "w", DType.Float64);
        using var b = Param([0.5, 0.25], new Shape(2), "b", DType.Float64);
        using var opt = new Adam([w, b], 0.1, 0.8, 0.9, 1e-3);
        var rw = new AdamRef(2, 0.8, 0.9, 1e-3, 0, false, false);
        var rb = new AdamRef(2, 0.8, 0.9, 1e-3, 0, false, false);
        double[] pw = [1.0, -1.0], pb = [0.5, 0.25];
        for (int k = 0; k < 3; k++)
        {
            opt.ZeroGrad();
            SetGrad(w, WGrads[k][..2]);
            rw.Step(pw, WGrads[k][..2], 0.1);
            if (k > 0)
            {
                SetGrad(b, BGrads[k][..2]);
                rb.Step(pb, BGrads[k][..2], 0.1);
            }
            opt.Step();
            GradCheck.AssertClose(w.Value.ToDoubleArray(), pw, 1e-12, 1e-14, $"w step {k + 1}");
            GradCheck.AssertClose(b.Value.ToDoubleArray(), pb, 1e-12, 1e-14, $"b step {k + 1}");
        }
        opt.StateDict()["w.step"].Item().Should().Be(3);
        opt.StateDict()["b.step"].Item().Should().Be(2);
    }

    [Test]
    public void Constructor_argument_errors()
    {
        using var s = TensorScope.Begin();
        using var w = Param([1.0], new Shape(1), "w", DType.Float64);
        using var buffer = new Variable(Tensor.FromArray(new[] { 1.0 }).DetachFromScope(), trainable: false, "buf");
        FluentActions.Invoking(() => new Sgd([], 0.1)).Should().Throw<ArgumentException>().WithMessage("*no parameters*");
        FluentActions.Invoking(() => new Sgd([buffer], 0.1)).Should().Throw<ArgumentException>().WithMessage("*trainable*");
        FluentActions.Invoking(() => new Sgd([w], -1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new Sgd([w], double.NaN)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new Sgd([w], 0.1, momentum: -0.1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new Sgd([w], 0.1, weightDecay: -0.1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new Sgd([w], 0.1, nesterov: true)).Should().Throw<ArgumentException>().WithMessage("*Nesterov*");
        FluentActions.Invoking(() => new Sgd([w], 0.1, momentum: 0.9, dampening: 0.1, nesterov: true)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => new Adam([w], beta1: 1.0)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new Adam([w], beta2: -0.1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new Adam([w], eps: -1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new AdamW([w], weightDecay: -1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new RmsProp([w], alpha: 1.5)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new RmsProp([w], momentum: -1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new RmsProp([w], eps: -1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new RmsProp([w], weightDecay: -1)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Test]
    public void Defaults_follow_pytorch()
    {
        using var s = TensorScope.Begin();
        using var w = Param([1.0], new Shape(1), "w", DType.Float64);
        using var adam = new Adam([w]);
        (adam.LearningRate, adam.Beta1, adam.Beta2, adam.Eps, adam.WeightDecay, adam.AmsGrad).Should().Be((1e-3, 0.9, 0.999, 1e-8, 0.0, false));
        using var adamw = new AdamW([w]);
        adamw.WeightDecay.Should().Be(0.01);
        using var rms = new RmsProp([w]);
        (rms.LearningRate, rms.Alpha, rms.Eps, rms.WeightDecay, rms.Momentum, rms.Centered).Should().Be((1e-2, 0.99, 1e-8, 0.0, 0.0, false));
        using var sgd = new Sgd([w], 0.1);
        (sgd.Momentum, sgd.Dampening, sgd.WeightDecay, sgd.Nesterov).Should().Be((0.0, 0.0, 0.0, false));
        sgd.BaseLearningRate.Should().Be(0.1);
    }

    // ---------- state dict ----------

    private static Dictionary<string, Tensor> Snapshot(IReadOnlyDictionary<string, Tensor> sd) =>
        sd.ToDictionary(kv => kv.Key, kv =>
        {
            var bytes = kv.Value.ToBytes();
            return Tensor.FromBytes(bytes, kv.Value.Spec);
        });

    public static IEnumerable<TestCaseData> StateCases()
    {
        yield return new TestCaseData((Func<Variable[], Optimizer>)(ps => new Sgd(ps, 0.1, 0.9, nesterov: true)), new[] { "momentum_buffer" }).SetName("StateDict Sgd");
        yield return new TestCaseData((Func<Variable[], Optimizer>)(ps => new Adam(ps, 0.05, amsgrad: true, weightDecay: 0.1)), new[] { "exp_avg", "exp_avg_sq", "max_exp_avg_sq" }).SetName("StateDict Adam amsgrad");
        yield return new TestCaseData((Func<Variable[], Optimizer>)(ps => new AdamW(ps, 0.05)), new[] { "exp_avg", "exp_avg_sq" }).SetName("StateDict AdamW");
        yield return new TestCaseData((Func<Variable[], Optimizer>)(ps => new RmsProp(ps, 0.01, momentum: 0.5, centered: true)), new[] { "square_avg", "grad_avg", "momentum_buffer" }).SetName("StateDict RmsProp");
    }

    [TestCaseSource(nameof(StateCases))]
    public void State_dict_round_trip_continues_bit_identically(Func<Variable[], Optimizer> make, string[] buffers)
    {
        foreach (var dt in FloatTypes)
        {
            using var s = TensorScope.Begin();
            using var w1 = Param(W0, new Shape(2, 2), "w", dt);
            using var b1 = Param(B0, new Shape(3), "b", dt);
            using var opt1 = make([w1, b1]);
            for (int k = 0; k < 2; k++)
            {
                SetGrad(w1, WGrads[k]);
                SetGrad(b1, BGrads[k]);
                opt1.Step();
            }
            opt1.LearningRate *= 0.7;
            var sd = opt1.StateDict();
            sd.Keys.Should().BeEquivalentTo(new[] { "step", "lr", "w.step", "b.step" }.Concat(buffers.SelectMany(n => new[] { $"w.{n}", $"b.{n}" })));
            sd["w.step"].DType.Should().Be(DType.Int64);
            sd["w.step"].Item().Should().Be(2);
            sd["step"].DType.Should().Be(DType.Int64);
            sd["step"].Item().Should().Be(2);
            sd["lr"].DType.Should().Be(DType.Float64);
            sd["lr"].Item().Should().Be(opt1.LearningRate);
            var saved = Snapshot(sd);

            // A second optimizer on parameters holding the same values, restored from the snapshot.
            using var w2 = new Variable(Ops.Mul(w1.Value, 1.0).DetachFromScope(), true, "w");
            using var b2 = new Variable(Ops.Mul(b1.Value, 1.0).DetachFromScope(), true, "b");
            using var opt2 = make([w2, b2]);
            opt2.LoadStateDict(saved);
            opt2.StepCount.Should().Be(2);
            opt2.LearningRate.Should().Be(opt1.LearningRate);
            for (int k = 2; k < 5; k++)
            {
                SetGrad(w1, WGrads[k]); SetGrad(b1, BGrads[k]); opt1.Step();
                SetGrad(w2, WGrads[k]); SetGrad(b2, BGrads[k]); opt2.Step();
                w2.Value.ToDoubleArray().Should().Equal(w1.Value.ToDoubleArray(), $"step {k + 1} ({dt})");
                b2.Value.ToDoubleArray().Should().Equal(b1.Value.ToDoubleArray(), $"step {k + 1} ({dt})");
            }
            foreach (var t in saved.Values) t.Dispose();
        }
    }

    [Test]
    public void Loading_replaces_all_state_and_accepts_its_own_state_dict()
    {
        using var s = TensorScope.Begin();
        using var w = Param([1.0, 2.0], new Shape(2), "w", DType.Float64);
        using var opt = new Sgd([w], 0.1, momentum: 0.9);
        using var fresh = new Sgd([w], 0.1, momentum: 0.9);
        var empty = Snapshot(fresh.StateDict());
        SetGrad(w, [1.0, 1.0]);
        opt.Step();
        // Loading a live state dict of itself must not free the tensors it is reading.
        opt.LoadStateDict(opt.StateDict());
        opt.StateDict()["w.momentum_buffer"].ToDoubleArray().Should().Equal(1.0, 1.0);
        // Loading a fresh optimizer's state drops the momentum buffer: the next step seeds it again (buf = g).
        opt.LoadStateDict(empty);
        opt.StepCount.Should().Be(0);
        opt.StateDict().Keys.Should().BeEquivalentTo(["step", "lr"]);
        var before = w.Value.ToDoubleArray();
        SetGrad(w, [2.0, 2.0]);
        opt.Step();
        GradCheck.AssertClose(w.Value.ToDoubleArray(), [before[0] - 0.2, before[1] - 0.2], 1e-15, 1e-15, "reseeded momentum");
    }

    [Test]
    public void Load_state_dict_reports_every_mismatch()
    {
        using var s = TensorScope.Begin();
        using var w = Param([1.0, 2.0], new Shape(2), "w", DType.Float64);
        using var opt = new Adam([w]);
        var bad = new Dictionary<string, Tensor>
        {
            ["step"] = Tensor.Scalar(1.5),                                         // not int64
            ["w.exp_avg"] = Tensor.FromArray(new[] { 1.0, 2.0, 3.0 }),             // wrong shape
            ["w.exp_avg_sq"] = Tensor.FromArray(new[] { 1f, 2f }),                 // wrong dtype
            ["w.momentum_buffer"] = Tensor.FromArray(new[] { 1.0, 2.0 }),          // not an Adam buffer
            ["v.exp_avg"] = Tensor.FromArray(new[] { 1.0, 2.0 }),                  // unknown parameter
        };
        var ex = FluentActions.Invoking(() => opt.LoadStateDict(bad)).Should().Throw<StateDictException>().Which;
        ex.Problems.Should().HaveCount(6);
        ex.Message.Should().Contain("'step'").And.Contain("'lr'").And.Contain("w.exp_avg").And.Contain("w.exp_avg_sq")
            .And.Contain("'w.momentum_buffer'").And.Contain("'v.exp_avg'");
        opt.StepCount.Should().Be(0, "nothing is loaded when anything is wrong");
        opt.StateDict().Keys.Should().BeEquivalentTo(["step", "lr"]);
        // A negative or non-finite lr / negative step is rejected too.
        var bad2 = new Dictionary<string, Tensor> { ["step"] = Tensor.Scalar(-1L), ["lr"] = Tensor.Scalar(double.NaN) };
        FluentActions.Invoking(() => opt.LoadStateDict(bad2)).Should().Throw<StateDictException>().Which.Problems.Should().HaveCount(2);
    }

    [Test]
    public void Unnamed_or_duplicate_parameters_get_positional_names()
    {
        using var s = TensorScope.Begin();
        using var a = Param([1.0], new Shape(1), "", DType.Float64);
        using var b = Param([2.0], new Shape(1), "x", DType.Float64);
        using var c = Param([3.0], new Shape(1), "x", DType.Float64);
        using var opt = new Sgd([a, b, c], 0.1, momentum: 0.5);
        foreach (var v in new[] { a, b, c }) SetGrad(v, [1.0]);
        opt.Step();
        opt.StateDict().Keys.Should().BeEquivalentTo(["step", "lr", "param0.step", "param1.step", "param2.step", "param0.momentum_buffer", "param1.momentum_buffer", "param2.momentum_buffer"]);
    }

    // ---------- gradient clipping ----------

    [Test]
    public void Clip_by_global_norm_scales_every_gradient([Values] bool tape)
    {
        using var s = TensorScope.Begin();
        using var mode = tape ? Autograd.UseTape() : null;
        using var w = Param([0, 0, 0, 0], new Shape(2, 2), "w", DType.Float32);
        using var b = Param([0, 0], new Shape(2), "b", DType.Float64);
        using var frozen = Param([7], new Shape(1), "f", DType.Float32);
        // ‖g‖ = √(3² + 4² + 12²) = 13 over both parameters (float32 and float64 gradients together).
        SetGrad(w, [3, 0, 4, 0]);
        SetGrad(b, [0, 12]);
        double norm = GradClip.ClipByGlobalNorm([w, b, frozen], 6.5);
        norm.Should().BeApproximately(13, 1e-12);
        double coef = 6.5 / (13 + 1e-6);
        GradCheck.AssertClose(w.Grad!.ToDoubleArray(), [3 * coef, 0, 4 * coef, 0], 1e-6, 1e-7, "w clipped");
        GradCheck.AssertClose(b.Grad!.ToDoubleArray(), [0, 12 * coef], 1e-14, 1e-15, "b clipped");
        w.Grad!.DType.Should().Be(DType.Float32);
        frozen.Grad.Should().BeNull();
        // The new norm is ≈ maxNorm; under the limit nothing changes.
        double again = GradClip.ClipByGlobalNorm([w, b], 100);
        again.Should().BeApproximately(6.5, 1e-5);
        GradCheck.AssertClose(b.Grad!.ToDoubleArray(), [0, 12 * coef], 1e-14, 1e-15, "b unchanged");
        GradClip.ClipByGlobalNorm([frozen], 1).Should().Be(0);
    }

    [Test]
    public void On_the_tape_replaced_gradients_are_freed()
    {
        using var s = TensorScope.Begin();
        using var tape = Autograd.UseTape();
        using var w = Param([3.0, 4.0], new Shape(2), "w", DType.Float64);
        using var opt = new Sgd([w], 0.1);
        Ops.Sum(Ops.Mul(w.Value, w.Value)).Backward();
        var g = w.Grad!; // on the tape this is the parameter's own gradient tensor
        GradClip.ClipByGlobalNorm([w], 1.0).Should().BeApproximately(10, 1e-12);
        g.IsDisposed.Should().BeTrue("the clipped gradient replaced it");
        var clipped = w.Grad!;
        opt.Step();
        w.Grad.Should().BeSameAs(clipped, "the step moves the gradient onto the new value");
        clipped.IsDisposed.Should().BeFalse();
        opt.ZeroGrad();
        clipped.IsDisposed.Should().BeTrue("ZeroGrad frees the gradient the parameter owned");
    }

    [Test]
    public void Clip_by_global_norm_rejects_a_non_positive_limit()
    {
        using var s = TensorScope.Begin();
        using var w = Param([0.0], new Shape(1), "w", DType.Float64);
        FluentActions.Invoking(() => GradClip.ClipByGlobalNorm([w], 0)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => GradClip.ClipByGlobalNorm([w], double.NaN)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
