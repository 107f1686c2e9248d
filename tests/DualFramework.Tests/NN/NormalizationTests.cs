using DualFramework.NN;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.NN;


[TestFixture]
public class NormalizationTests
{
    // Per-channel statistics of x viewed as [N, C, S]: mean, biased and unbiased variance.
    private static (double[] Mean, double[] Biased, double[] Unbiased) Stats(double[] x, int n, int c, int sp)
    {
        var mean = new double[c];
        var vb = new double[c];
        var vu = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            var vals = new List<double>();
            for (int i = 0; i < n; i++)
                for (int k = 0; k < sp; k++) vals.Add(x[(i * c + ch) * sp + k]);
            double m = vals.Average();
            double ss = vals.Sum(v => (v - m) * (v - m));
            (mean[ch], vb[ch], vu[ch]) = (m, ss / vals.Count, ss / (vals.Count - 1));
        }
        return (mean, vb, vu);
    }

    private static double[] Normalize(double[] x, int n, int c, int sp, double[] mean, double[] var, double[] gamma, double[] beta, double eps)
    {
        var y = new double[x.Length];
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                for (int k = 0; k < sp; k++)
                {
                    int j = (i * c + ch) * sp + k;
                    y[j] = (x[j] - mean[ch]) / Math.Sqrt(var[ch] + eps) * gamma[ch] + beta[ch];
                }
        return y;
    }

    private static double[] F(float[] a) => a.Select(v => (double)v).ToArray();

    [Test]
    public void BatchNorm2d_training_normalises_with_batch_stats_and_updates_running_stats()
    {
        using var s = TensorScope.Begin();
        using var bn = new BatchNorm2d(3);
        bn.StateDict().Select(kv => (kv.Key, kv.Value.Spec)).Should().Equal(
            ("weight", new TensorSpec(new Shape(3), DType.Float32)), ("bias", new TensorSpec(new Shape(3), DType.Float32)),
            ("running_mean", new TensorSpec(new Shape(3), DType.Float32)), ("running_var", new TensorSpec(new Shape(3), DType.Float32)),
            ("num_batches_tracked", new TensorSpec(Shape.Scalar, DType.Int64)));
        bn.ParameterCount().Should().Be(6);
        bn.Weight!.Value.ToFloatArray().Should().Equal(1f, 1f, 1f);
        bn.Bias!.Value.ToFloatArray().Should().Equal(0f, 0f, 0f);
        NNRef.RandomizeParameters(bn, 4);
        var gamma = NNRef.W(bn, "weight");
        var beta = NNRef.W(bn, "bias");

        var x1 = NNRef.RandF(1, 2 * 3 * 2 * 2, -2, 3);
        var x2 = NNRef.RandF(2, 2 * 3 * 2 * 2, -1, 1);
        var st1 = Stats(F(x1), 2, 3, 4);
        var st2 = Stats(F(x2), 2, 3, 4);

        var y1 = bn.Call(Tensor.FromArray(x1, new Shape(2, 3, 2, 2)));
        GradCheck.AssertClose(y1.ToFloatArray(), Normalize(F(x1), 2, 3, 4, st1.Mean, st1.Biased, gamma, beta, 1e-5), 1e-5, 1e-5,
            "training output uses the biased batch variance");
        var rm1 = st1.Mean.Select(m => 0.9 * 0 + 0.1 * m).ToArray();
        var rv1 = st1.Unbiased.Select(v => 0.9 * 1 + 0.1 * v).ToArray();
        GradCheck.AssertClose(bn.RunningMean!.Value.ToFloatArray(), rm1, 1e-6, 1e-7, "running mean after one batch");
        GradCheck.AssertClose(bn.RunningVar!.Value.ToFloatArray(), rv1, 1e-6, 1e-7, "running var uses the unbiased variance");
        bn.NumBatchesTracked!.Value.ToArray<long>().Should().Equal(new long[] { 1 });

        bn.Call(Tensor.FromArray(x2, new Shape(2, 3, 2, 2)));
        var rm2 = rm1.Select((m, i) => 0.9 * m + 0.1 * st2.Mean[i]).ToArray();
        var rv2 = rv1.Select((v, i) => 0.9 * v + 0.1 * st2.Unbiased[i]).ToArray();
        GradCheck.AssertClose(bn.RunningMean.Value.ToFloatArray(), rm2, 1e-6, 1e-7, "running mean after two batches");
        GradCheck.AssertClose(bn.RunningVar.Value.ToFloatArray(), rv2, 1e-6, 1e-7, "running var after two batches");
        bn.NumBatchesTracked.Value.ToArray<long>().Should().Equal(new long[] { 2 });

        bn.Eval();
        var ye = bn.Call(Tensor.FromArray(x1, new Shape(2, 3, 2, 2)));
        GradCheck.AssertClose(ye.ToFloatArray(), Normalize(F(x1), 2, 3, 4, rm2, rv2, gamma, beta, 1e-5), 1e-5, 1e-5,
            "evaluation uses the running statistics");
        bn.NumBatchesTracked.Value.ToArray<long>().Should().Equal(new long[] { 2 }, "evaluation does not count batches");
        GradCheck.AssertClose(bn.RunningMean.Value.ToFloatArray(), rm2, 1e-6, 1e-7, "evaluation leaves the statistics");
    }

    [Test]
    public void BatchNorm1d_on_rank_2_and_3_with_custom_momentum_and_eps()
    {
        using var s = TensorScope.Begin();
        using var bn = new BatchNorm1d(2, eps: 1e-3, momentum: 0.3);
        var x = NNRef.RandF(5, 4 * 2 * 3);
        var y = bn.Call(Tensor.FromArray(x, new Shape(4, 2, 3)));
        var st = Stats(F(x), 4, 2, 3);
        GradCheck.AssertClose(y.ToFloatArray(), Normalize(F(x), 4, 2, 3, st.Mean, st.Biased, [1, 1], [0, 0], 1e-3), 1e-5, 1e-5, "[N, C, L]");
        GradCheck.AssertClose(bn.RunningVar!.Value.ToFloatArray(), st.Unbiased.Select(v => 0.7 + 0.3 * v).ToArray(), 1e-6, 1e-7, "momentum 0.3");

        var x2 = NNRef.RandF(6, 5 * 2);
        var y2 = bn.Call(Tensor.FromArray(x2, new Shape(5, 2)));
        var st2 = Stats(F(x2), 5, 2, 1);
        GradCheck.AssertClose(y2.ToFloatArray(), Normalize(F(x2), 5, 2, 1, st2.Mean, st2.Biased, [1, 1], [0, 0], 1e-3), 1e-5, 1e-5, "[N, C]");
    }

    [Test]
    public void BatchNorm_cumulative_average_without_momentum()
    {
        using var s = TensorScope.Begin();
        using var bn = new BatchNorm1d(2, momentum: null);
        var x1 = NNRef.RandF(7, 6 * 2);
        var x2 = NNRef.RandF(8, 6 * 2, 0, 4);
        bn.Call(Tensor.FromArray(x1, new Shape(6, 2)));
        bn.Call(Tensor.FromArray(x2, new Shape(6, 2)));
        var st1 = Stats(F(x1), 6, 2, 1);
        var st2 = Stats(F(x2), 6, 2, 1);
        // Factor 1 then 1/2: the plain average of the two batches' statistics.
        GradCheck.AssertClose(bn.RunningMean!.Value.ToFloatArray(), st1.Mean.Select((m, i) => (m + st2.Mean[i]) / 2).ToArray(), 1e-6, 1e-7, "mean");
        GradCheck.AssertClose(bn.RunningVar!.Value.ToFloatArray(), st1.Unbiased.Select((v, i) => (v + st2.Unbiased[i]) / 2).ToArray(), 1e-6, 1e-7, "var");
    }

    [Test]
    public void BatchNorm_without_tracking_or_affine()
    {
        using var s = TensorScope.Begin();
        using var bn = new BatchNorm2d(2, affine: false, trackRunningStats: false);
        bn.StateDict().Should().BeEmpty();
        bn.Affine.Should().BeFalse();
        bn.TrackRunningStats.Should().BeFalse();
        var x = NNRef.RandF(9, 3 * 2 * 2 * 2);
        var st = Stats(F(x), 3, 2, 4);
        var expected = Normalize(F(x), 3, 2, 4, st.Mean, st.Biased, [1, 1], [0, 0], 1e-5);
        GradCheck.AssertClose(bn.Call(Tensor.FromArray(x, new Shape(3, 2, 2, 2))).ToFloatArray(), expected, 1e-5, 1e-5, "training");
        bn.Eval();
        GradCheck.AssertClose(bn.Call(Tensor.FromArray(x, new Shape(3, 2, 2, 2))).ToFloatArray(), expected, 1e-5, 1e-5,
            "without running statistics evaluation also uses batch statistics");

        using var affineOnly = new BatchNorm1d(4, trackRunningStats: false);
        affineOnly.StateDict().Keys.Should().Equal("weight", "bias");
        affineOnly.NamedBuffers().Should().BeEmpty();
    }

    [Test]
    public void BatchNorm_float64_input_keeps_float32_running_stats()
    {
        using var s = TensorScope.Begin();
        using var bn = new BatchNorm1d(3);
        var x = NNRef.Rand(11, 4 * 3);
        var y = bn.Call(Tensor.FromArray(x, new Shape(4, 3)));
        y.DType.Should().Be(DType.Float64);
        bn.RunningMean!.Spec.DType.Should().Be(DType.Float32);
        GradCheck.AssertClose(bn.RunningMean.Value.ToFloatArray(), Stats(x, 4, 3, 1).Mean.Select(m => 0.1 * m).ToArray(), 1e-6, 1e-7, "mean");
    }

    [Test]
    public void BatchNorm_rejects_bad_arguments_and_inputs()
    {
        using var s = TensorScope.Begin();
        FluentActions.Invoking(() => new BatchNorm2d(0)).Should().Throw<ArgumentException>().WithMessage("*BatchNorm2d*num_features*");
        FluentActions.Invoking(() => new BatchNorm1d(2, momentum: 1.5)).Should().Throw<ArgumentException>().WithMessage("*BatchNorm1d*momentum*");
        FluentActions.Invoking(() => new BatchNorm1d(2, eps: 0)).Should().Throw<ArgumentException>().WithMessage("*BatchNorm1d*eps*");
        using var bn = new BatchNorm2d(3);
        FluentActions.Invoking(() => bn.Call(Ops.Ones(new Shape(2, 4, 2, 2)))).Should().Throw<OpException>().WithMessage("*BatchNorm2d*3 channels*");
        FluentActions.Invoking(() => bn.Call(Ops.Ones(new Shape(2, 3)))).Should().Throw<OpException>().WithMessage("*BatchNorm2d*rank-4*");
        FluentActions.Invoking(() => new BatchNorm1d(3).Call(Ops.Ones(new Shape(1, 3)))).Should().Throw<OpException>()
            .WithMessage("*BatchNorm1d*more than 1 value per channel*");
        bn.NumBatchesTracked!.Value.ToArray<long>().Should().Equal(new long[] { 0 }, "rejected inputs change nothing");
    }

    [Test]
    public void LayerNorm_matches_loops_over_one_or_several_axes()
    {
        using var s = TensorScope.Begin();
        using var ln = new LayerNorm(4);
        ln.StateDict().Select(kv => (kv.Key, kv.Value.Shape)).Should().Equal(("weight", new Shape(4)), ("bias", new Shape(4)));
        ln.Weight!.Value.ToFloatArray().Should().Equal(1f, 1f, 1f, 1f);
        NNRef.RandomizeParameters(ln, 2);
        var x = NNRef.RandF(3, 3 * 2 * 4, -2, 2);
        var y = ln.Call(Tensor.FromArray(x, new Shape(3, 2, 4)));
        GradCheck.AssertClose(y.ToFloatArray(), NNRef.LayerNorm(F(x), 4, NNRef.W(ln, "weight"), NNRef.W(ln, "bias"), 1e-5), 1e-5, 1e-5, "last axis");

        using var ln2 = new LayerNorm([2, 4], eps: 1e-3, elementwiseAffine: false);
        ln2.StateDict().Should().BeEmpty();
        var y2 = ln2.Call(Tensor.FromArray(x, new Shape(3, 2, 4)));
        GradCheck.AssertClose(y2.ToFloatArray(), NNRef.LayerNorm(F(x), 8, null, null, 1e-3), 1e-5, 1e-5, "two trailing axes");

        using var noBias = new LayerNorm(4, bias: false);
        noBias.StateDict().Keys.Should().Equal("weight");

        FluentActions.Invoking(() => ln.Call(Ops.Ones(new Shape(2, 5)))).Should().Throw<OpException>().WithMessage("*LayerNorm*trailing dimensions [4]*");
        FluentActions.Invoking(() => new LayerNorm(Array.Empty<long>())).Should().Throw<ArgumentException>().WithMessage("*LayerNorm*");
        FluentActions.Invoking(() => new LayerNorm(0)).Should().Throw<ArgumentException>().WithMessage("*LayerNorm*normalized_shape*");
    }
}
