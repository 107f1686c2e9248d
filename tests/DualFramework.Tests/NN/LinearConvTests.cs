using DualFramework.NN;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.NN;


[TestFixture]
public class LinearConvTests
{
    [Test]
    public void Linear_forward_matches_loops_for_2d_and_3d_inputs()
    {
        using var s = TensorScope.Begin();
        using var lin = new Linear(5, 3, rng: new SeededRandom(1));
        NNRef.RandomizeParameters(lin, 10);
        var w = NNRef.W(lin, "weight");
        var b = NNRef.W(lin, "bias");
        var xd = NNRef.RandF(2, 2 * 4 * 5);
        var x = Tensor.FromArray(xd, new Shape(2, 4, 5));
        var y = lin.Call(x);
        y.Shape.Should().Be(new Shape(2, 4, 3));
        var expected = NNRef.Linear(xd.Select(v => (double)v).ToArray(), w, b, 5, 3);
        GradCheck.AssertClose(y.ToFloatArray(), expected, 1e-5, 1e-6, "linear [2, 4, 5]");
        var y2 = lin.Call(Tensor.FromArray(xd[..10], new Shape(2, 5)));
        GradCheck.AssertClose(y2.ToFloatArray(), expected[..6], 1e-5, 1e-6, "linear [2, 5]");
    }

    [Test]
    public void Linear_without_bias_and_names_shapes_counts()
    {
        using var s = TensorScope.Begin();
        using var lin = new Linear(4, 2, bias: false, rng: new SeededRandom(3));
        lin.Bias.Should().BeNull();
        lin.NamedParameters().Select(p => p.Name).Should().Equal("weight");
        var x = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, new Shape(1, 4));
        var w = NNRef.W(lin, "weight");
        GradCheck.AssertClose(lin.Call(x).ToFloatArray(), NNRef.Linear([1, 2, 3, 4], w, null, 4, 2), 1e-5, 1e-6, "x·Wᵀ");

        using var big = new Linear(784, 256, rng: new SeededRandom(0));
        big.ParameterCount().Should().Be(200960);
        big.StateDict().Select(kv => (kv.Key, kv.Value.Shape)).Should().Equal(("weight", new Shape(256, 784)), ("bias", new Shape(256)));
    }

    [Test]
    public void Linear_init_uses_the_documented_draw_order_and_bounds()
    {
        using var s = TensorScope.Begin();
        using var lin = new Linear(3, 2, rng: new SeededRandom(7));
        // Independent replay: weight (row-major) then bias, both U(±1/√in).
        var r = new SeededRandom(7);
        double bound = 1 / Math.Sqrt(3);
        var w = Enumerable.Range(0, 6).Select(_ => (float)r.Uniform(-bound, bound)).ToArray();
        var b = Enumerable.Range(0, 2).Select(_ => (float)r.Uniform(-bound, bound)).ToArray();
        lin.Weight.Value.ToFloatArray().Should().Equal(w);
        lin.Bias!.Value.ToFloatArray().Should().Equal(b);

        using var large = new Linear(400, 50, rng: new SeededRandom(8));
        var lw = large.Weight.Value.ToFloatArray();
        double lb = 1 / Math.Sqrt(400);
        lw.Should().OnlyContain(v => Math.Abs(v) <= lb);
        lw.Max().Should().BeGreaterThan((float)(0.99 * lb), "20000 draws reach close to the bound");
        large.Bias!.Value.ToFloatArray().Should().OnlyContain(v => Math.Abs(v) <= lb);
    }

    [Test]
    public void Linear_rejects_bad_arguments_and_inputs()
    {
        using var s = TensorScope.Begin();
        FluentActions.Invoking(() => new Linear(0, 3)).Should().Throw<ArgumentException>().WithMessage("*Linear*in_features*");
        FluentActions.Invoking(() => new Linear(3, -1)).Should().Throw<ArgumentException>().WithMessage("*Linear*out_features*");
        using var lin = new Linear(3, 2, rng: new SeededRandom(0));
        FluentActions.Invoking(() => lin.Call(Ops.Ones(new Shape(2, 4)))).Should().Throw<OpException>()
            .WithMessage("*Linear*in_features = 3*[2, 4]*");
    }

    [TestCase(1, 0, 1, 1)]
    [TestCase(2, 1, 1, 2)]
    [TestCase(1, 2, 2, 1)]
    public void Conv2d_forward_matches_loops(int stride, int pad, int dil, int groups)
    {
        using var s = TensorScope.Begin();
        using var conv = new Conv2d(4, 6, 3, stride, pad, dil, groups, rng: new SeededRandom(5));
        conv.Weight.Spec.Shape.Should().Be(new Shape(6, 4 / groups, 3, 3));
        NNRef.RandomizeParameters(conv, 3);
        var xd = NNRef.Rand(9, 2 * 4 * 7 * 6);
        var y = conv.Call(Tensor.FromArray(xd.Select(v => (float)v).ToArray(), new Shape(2, 4, 7, 6)));
        var xf = xd.Select(v => (double)(float)v).ToArray();
        var expected = DualFramework.Tests.OpTests.ConvTests.NaiveConv(xf, [2, 4, 7, 6], NNRef.W(conv, "weight"), [6, 4 / groups, 3, 3],
            NNRef.W(conv, "bias"), [stride, stride], [pad, pad], [dil, dil], groups, out var ys);
        y.Shape.Should().Be(new Shape(ys));
        GradCheck.AssertClose(y.ToFloatArray(), expected, 1e-5, 1e-5, "conv2d");
    }

    [Test]
    public void Conv2d_rectangular_kernel_unbatched_input_and_no_bias()
    {
        using var s = TensorScope.Begin();
        using var conv = new Conv2d(2, 3, [2, 3], stride: [1, 2], padding: [1, 0], bias: false, rng: new SeededRandom(6));
        conv.Weight.Spec.Shape.Should().Be(new Shape(3, 2, 2, 3));
        conv.NamedParameters().Select(p => p.Name).Should().Equal("weight");
        var xd = NNRef.RandF(1, 2 * 4 * 5);
        var y = conv.Call(Tensor.FromArray(xd, new Shape(2, 4, 5)));
        // Reference: per-dimension parameters written out directly.
        var w = NNRef.W(conv, "weight");
        int oh = (4 + 2 - 2) / 1 + 1, ow = (5 - 3) / 2 + 1;
        y.Shape.Should().Be(new Shape(3, oh, ow));
        var expected = new double[3 * oh * ow];
        for (int o = 0; o < 3; o++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                    for (int c = 0; c < 2; c++)
                        for (int u = 0; u < 2; u++)
                            for (int v = 0; v < 3; v++)
                            {
                                int yy = i - 1 + u, xx = j * 2 + v;
                                if (yy < 0 || yy >= 4) continue;
                                expected[(o * oh + i) * ow + j] += xd[(c * 4 + yy) * 5 + xx] * w[((o * 2 + c) * 2 + u) * 3 + v];
                            }
        GradCheck.AssertClose(y.ToFloatArray(), expected, 1e-5, 1e-5, "unbatched conv2d");
    }

    [Test]
    public void Conv1d_forward_matches_loops()
    {
        using var s = TensorScope.Begin();
        using var conv = new Conv1d(4, 2, 3, stride: 2, padding: 1, dilation: 1, groups: 2, rng: new SeededRandom(4));
        conv.Weight.Spec.Shape.Should().Be(new Shape(2, 2, 3));
        NNRef.RandomizeParameters(conv, 8);
        var xd = NNRef.RandF(3, 2 * 4 * 7);
        var y = conv.Call(Tensor.FromArray(xd, new Shape(2, 4, 7)));
        var w = NNRef.W(conv, "weight");
        var b = NNRef.W(conv, "bias");
        int ol = (7 + 2 - 3) / 2 + 1;
        y.Shape.Should().Be(new Shape(2, 2, ol));
        var expected = new double[2 * 2 * ol];
        for (int n = 0; n < 2; n++)
            for (int o = 0; o < 2; o++)
                for (int i = 0; i < ol; i++)
                {
                    double acc = b[o];
                    for (int c = 0; c < 2; c++)
                        for (int u = 0; u < 3; u++)
                        {
                            int p = i * 2 - 1 + u;
                            if (p >= 0 && p < 7) acc += xd[(n * 4 + o * 2 + c) * 7 + p] * w[(o * 2 + c) * 3 + u];
                        }
                    expected[(n * 2 + o) * ol + i] = acc;
                }
        GradCheck.AssertClose(y.ToFloatArray(), expected, 1e-5, 1e-5, "conv1d groups=2");
    }

    [Test]
    public void Conv_init_bounds_use_fan_in_of_the_group()
    {
        using var s = TensorScope.Begin();
        using var conv = new Conv2d(8, 16, 3, groups: 2, rng: new SeededRandom(1));
        double bound = 1 / Math.Sqrt(8 / 2 * 3 * 3);
        var w = conv.Weight.Value.ToFloatArray();
        w.Should().OnlyContain(v => Math.Abs(v) <= bound);
        w.Max().Should().BeGreaterThan((float)(0.95 * bound));
        conv.Bias!.Value.ToFloatArray().Should().OnlyContain(v => Math.Abs(v) <= bound);
        conv.ParameterCount().Should().Be(16 * 4 * 9 + 16);
    }

    [Test]
    public void Conv_rejects_bad_arguments_and_inputs()
    {
        using var s = TensorScope.Begin();
        FluentActions.Invoking(() => new Conv2d(3, 4, 3, groups: 2)).Should().Throw<ArgumentException>().WithMessage("*Conv2d*divisible by groups*");
        FluentActions.Invoking(() => new Conv2d(2, 4, 0)).Should().Throw<ArgumentException>().WithMessage("*Conv2d*kernel_size*");
        FluentActions.Invoking(() => new Conv1d(2, 4, 3, stride: 0)).Should().Throw<ArgumentException>().WithMessage("*Conv1d*stride*");
        FluentActions.Invoking(() => new Conv2d(2, 4, 3, padding: -1)).Should().Throw<ArgumentException>().WithMessage("*Conv2d*padding*");
        FluentActions.Invoking(() => new Conv2d(2, 4, [3], rng: null)).Should().Throw<ArgumentException>().WithMessage("*Conv2d*kernel_size needs 2 entries*");
        using var conv = new Conv2d(3, 4, 3, rng: new SeededRandom(0));
        FluentActions.Invoking(() => conv.Call(Ops.Ones(new Shape(1, 2, 5, 5)))).Should().Throw<OpException>().WithMessage("*Conv2d*3 input channels*");
        FluentActions.Invoking(() => conv.Call(Ops.Ones(new Shape(5, 5)))).Should().Throw<OpException>().WithMessage("*Conv2d*rank-4*");
        // Too small for the kernel: rejected by the conv op itself, still naming the layer.
        FluentActions.Invoking(() => conv.Call(Ops.Ones(new Shape(1, 3, 2, 2)))).Should().Throw<OpException>()
            .Where(e => e.LayerPath == "Conv2d");
    }
}
