using DualFramework.Optim;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Optim;

[TestFixture]
public class LrScheduleTests
{
    [Test]
    public void Step_lr_decays_every_period()
    {
        var s = new StepLr(3, 0.5);
        long[] ts = [0, 1, 2, 3, 5, 6, 8, 9, 30];
        double[] expected = [0.2, 0.2, 0.2, 0.1, 0.1, 0.05, 0.05, 0.025, 0.2 / 1024];
        for (int i = 0; i < ts.Length; i++) s.At(ts[i], 0.2).Should().BeApproximately(expected[i], 1e-15, $"t = {ts[i]}");
        new StepLr(10).At(25, 1.0).Should().BeApproximately(0.01, 1e-15, "default gamma 0.1");
    }

    [Test]
    public void Cosine_lr_follows_the_half_cosine_then_holds()
    {
        var s = new CosineLr(8, 0.01);
        s.At(0, 0.1).Should().BeApproximately(0.1, 1e-15);
        s.At(4, 0.1).Should().BeApproximately(0.01 + 0.09 / 2, 1e-15, "half-way: mean of base and eta_min");
        s.At(2, 0.1).Should().BeApproximately(0.01 + 0.09 * (1 + Math.Sqrt(0.5)) / 2, 1e-15);
        s.At(6, 0.1).Should().BeApproximately(0.01 + 0.09 * (1 - Math.Sqrt(0.5)) / 2, 1e-15);
        s.At(8, 0.1).Should().BeApproximately(0.01, 1e-15);
        s.At(100, 0.1).Should().BeApproximately(0.01, 1e-15, "held after TMax");
        new CosineLr(3).At(1, 1.0).Should().BeApproximately(0.75, 1e-15, "cos(π/3) = ½ → (1 + ½)/2");
    }

    [Test]
    public void Linear_warmup_alone_ramps_then_stays()
    {
        var s = new LinearWarmup(4);
        double[] expected = [0, 0.25, 0.5, 0.75, 1, 1, 1];
        for (int t = 0; t < expected.Length; t++) s.At(t, 2.0).Should().BeApproximately(2 * expected[t], 1e-15, $"t = {t}");
        var f = new LinearWarmup(5, StartFactor: 0.5);
        f.At(0, 1.0).Should().BeApproximately(0.5, 1e-15);
        f.At(2, 1.0).Should().BeApproximately(0.5 + 0.5 * 2 / 5, 1e-15);
        f.At(5, 1.0).Should().Be(1.0);
        new LinearWarmup(0).At(0, 0.3).Should().Be(0.3, "no warm-up");
    }

    [Test]
    public void Linear_warmup_then_another_schedule_starts_it_at_zero()
    {
        var s = new LinearWarmup(2, new CosineLr(4));
        s.At(0, 1.0).Should().Be(0);
        s.At(1, 1.0).Should().BeApproximately(0.5, 1e-15);
        s.At(2, 1.0).Should().BeApproximately(1.0, 1e-15, "cosine at its t = 0");
        s.At(3, 1.0).Should().BeApproximately((1 + Math.Sqrt(0.5)) / 2, 1e-15);
        s.At(4, 1.0).Should().BeApproximately(0.5, 1e-15);
        s.At(6, 1.0).Should().BeApproximately(0, 1e-15);
        var st = new LinearWarmup(3, new StepLr(2, 0.1), 0.1);
        st.At(0, 1.0).Should().BeApproximately(0.1, 1e-15);
        st.At(3, 1.0).Should().BeApproximately(1.0, 1e-15);
        st.At(5, 1.0).Should().BeApproximately(0.1, 1e-15);
        st.At(7, 1.0).Should().BeApproximately(0.01, 1e-15);
    }

    [Test]
    public void Invalid_schedules_throw()
    {
        FluentActions.Invoking(() => new StepLr(0).At(1, 1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new CosineLr(0).At(1, 1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new LinearWarmup(-1).At(1, 1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new LinearWarmup(3, StartFactor: 1.5).At(1, 1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new StepLr(2).At(-1, 1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new CosineLr(2).At(-1, 1)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Test]
    public void Driving_an_optimizer_from_a_schedule()
    {
        using var s = TensorScope.Begin();
        using var w = new DualFramework.NN.Variable(Tensor.FromArray(new[] { 1.0 }).DetachFromScope(), true, "w");
        using var opt = new Sgd([w], 0.4);
        var sched = new StepLr(1, 0.5);
        double p = 1.0;
        for (long t = 0; t < 3; t++)
        {
            opt.LearningRate = sched.At(t, opt.BaseLearningRate);
            w.Value.Grad = Tensor.FromArray(new[] { 1.0 });
            opt.Step();
            p -= 0.4 * Math.Pow(0.5, t);
            w.Value.Item().Should().BeApproximately(p, 1e-15);
        }
    }
}
