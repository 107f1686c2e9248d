using DualFramework.NN;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.NN;


[TestFixture]
public class PoolingActivationTests
{
    // x[n, c, i, j] over [1, 2, 4, 5]
    private static readonly double[] X = NNRef.Rand(21, 2 * 4 * 5, -3, 3).Select(v => (double)(float)v).ToArray();

    private static Tensor Input() => Tensor.FromArray(X.Select(v => (float)v).ToArray(), new Shape(1, 2, 4, 5));

    private static double[] PoolRef(bool max, int k, int st, int pad, bool includePad, out int oh, out int ow)
    {
        oh = (4 + 2 * pad - k) / st + 1;
        ow = (5 + 2 * pad - k) / st + 1;
        var y = new double[2 * oh * ow];
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    double acc = max ? double.NegativeInfinity : 0;
                    int cnt = 0;
                    for (int u = 0; u < k; u++)
                        for (int v = 0; v < k; v++)
                        {
                            int yy = i * st - pad + u, xx = j * st - pad + v;
                            bool inside = yy >= 0 && yy < 4 && xx >= 0 && xx < 5;
                            if (inside || includePad) cnt++;
                            if (!inside) continue;
                            double val = X[(c * 4 + yy) * 5 + xx];
                            acc = max ? Math.Max(acc, val) : acc + val;
                        }
                    y[(c * oh + i) * ow + j] = max ? acc : acc / cnt;
                }
        return y;
    }

    [TestCase(2, null, 0)]
    [TestCase(3, 1, 1)]
    [TestCase(3, 2, 1)]
    public void MaxPool2d_matches_loops(int k, int? stride, int pad)
    {
        using var s = TensorScope.Begin();
        using var pool = new MaxPool2d(k, stride, pad);
        var y = pool.Call(Input());
        var expected = PoolRef(true, k, stride ?? k, pad, false, out int oh, out int ow);
        y.Shape.Should().Be(new Shape(1, 2, oh, ow));
        GradCheck.AssertClose(y.ToFloatArray(), expected, 0, 0, "max pool");
        var (vals, idx) = pool.ForwardWithIndices(Input());
        vals.ToFloatArray().Should().Equal(y.ToFloatArray());
        idx.DType.Should().Be(DType.Int64);
    }

    [TestCase(2, null, 0, true)]
    [TestCase(3, 2, 1, true)]
    [TestCase(3, 2, 1, false)]
    public void AvgPool2d_matches_loops(int k, int? stride, int pad, bool includePad)
    {
        using var s = TensorScope.Begin();
        using var y = new AvgPool2d(k, stride, pad, includePad).Call(Input());
        var expected = PoolRef(false, k, stride ?? k, pad, includePad, out int oh, out int ow);
        y.Shape.Should().Be(new Shape(1, 2, oh, ow));
        GradCheck.AssertClose(y.ToFloatArray(), expected, 1e-6, 1e-6, "avg pool");
    }

    [Test]
    public void AdaptiveAvgPool2d_uses_pytorch_windows()
    {
        using var s = TensorScope.Begin();
        // PyTorch windows: start = floor(i·in/out), end = ceil((i+1)·in/out). 4 -> 3: [0,2) [1,3) [2,4); 5 -> 2: [0,3) [2,5).
        using var y = new AdaptiveAvgPool2d(3, 2).Call(Input());
        y.Shape.Should().Be(new Shape(1, 2, 3, 2));
        var expected = new double[12];
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 2; j++)
                {
                    int h0 = i * 4 / 3, h1 = ((i + 1) * 4 + 2) / 3, w0 = j * 5 / 2, w1 = ((j + 1) * 5 + 1) / 2;
                    double acc = 0;
                    for (int u = h0; u < h1; u++)
                        for (int v = w0; v < w1; v++) acc += X[(c * 4 + u) * 5 + v];
                    expected[(c * 3 + i) * 2 + j] = acc / ((h1 - h0) * (w1 - w0));
                }
        GradCheck.AssertClose(y.ToFloatArray(), expected, 1e-6, 1e-6, "adaptive avg pool");
        new AdaptiveAvgPool2d(1).Call(Ops.Ones(new Shape(2, 3, 3))).Shape.Should().Be(new Shape(2, 1, 1), "unbatched input");
    }

    [Test]
    public void Pooling_rejects_bad_arguments()
    {
        using var s = TensorScope.Begin();
        FluentActions.Invoking(() => new MaxPool2d(0)).Should().Throw<ArgumentException>().WithMessage("*MaxPool2d*kernel_size*");
        FluentActions.Invoking(() => new AvgPool2d(2, stride: 0)).Should().Throw<ArgumentException>().WithMessage("*AvgPool2d*stride*");
        FluentActions.Invoking(() => new AdaptiveAvgPool2d(0)).Should().Throw<ArgumentException>().WithMessage("*AdaptiveAvgPool2d*output_size*");
        FluentActions.Invoking(() => new MaxPool2d(2).Call(Ops.Ones(new Shape(4)))).Should().Throw<OpException>().WithMessage("*MaxPool2d*rank-4*");
        // Padding larger than half the window: the pooling op's own rule rejects it, naming the layer.
        FluentActions.Invoking(() => new MaxPool2d(2, 1, 2).Call(Input())).Should().Throw<OpException>().Where(e => e.LayerPath == "MaxPool2d");
    }

    [Test]
    public void Activations_match_their_formulas()
    {
        using var s = TensorScope.Begin();
        double[] xs = [-3, -1.5, -0.25, 0.5, 2, 25];
        var x = Tensor.FromArray(xs, new Shape(2, 3));
        void Check(Module m, Func<double, double> f, double tol = 1e-12) =>
            GradCheck.AssertClose(m.Call(x).ToDoubleArray(), xs.Select(f).ToArray(), tol, tol, m.GetType().Name);
        Check(new ReLU(), v => Math.Max(v, 0));
        Check(new Tanh(), Math.Tanh);
        Check(new Sigmoid(), v => 1 / (1 + Math.Exp(-v)));
        Check(new LeakyReLU(0.2), v => v >= 0 ? v : 0.2 * v);
        Check(new LeakyReLU(), v => v >= 0 ? v : 0.01 * v);
        Check(new GELU(), NNRef.Gelu, 2e-7);
        Check(new GELU(GeluApproximation.Tanh), v => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))));
        Check(new Softplus(), v => v > 20 ? v : Math.Log(1 + Math.Exp(v)));
        Check(new Softplus(2, 10), v => 2 * v > 10 ? v : Math.Log(1 + Math.Exp(2 * v)) / 2);
        Check(new Identity(), v => v);

        double Lse(int r) => Math.Log(Math.Exp(xs[3 * r]) + Math.Exp(xs[3 * r + 1]) + Math.Exp(xs[3 * r + 2]));
        Check(new LogSoftmax(1), v => v - Lse(Array.IndexOf(xs, v) / 3));
        Check(new Softmax(-1), v => Math.Exp(v - Lse(Array.IndexOf(xs, v) / 3)));
        var col = new Softmax(0).Call(x).ToDoubleArray();
        col[0].Should().BeApproximately(Math.Exp(-3) / (Math.Exp(-3) + Math.Exp(0.5)), 1e-12);

        FluentActions.Invoking(() => new GELU((GeluApproximation)7)).Should().Throw<ArgumentException>().WithMessage("*GELU*approximate*");
        FluentActions.Invoking(() => new Softplus(0)).Should().Throw<ArgumentException>().WithMessage("*Softplus*beta*");
        FluentActions.Invoking(() => new Softmax(2).Call(x)).Should().Throw<OpException>().Where(e => e.LayerPath == "Softmax");
    }

    [Test]
    public void Flatten_merges_the_requested_axes()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Reshape(Ops.Arange(0, 24, 1, DType.Float32), 2, 3, 4);
        var y = new Flatten().Call(x);
        y.Shape.Should().Be(new Shape(2, 12));
        y.ToFloatArray().Should().Equal(Enumerable.Range(0, 24).Select(i => (float)i));
        new Flatten(0, 1).Call(x).Shape.Should().Be(new Shape(6, 4));
        new Flatten(-2).Call(x).Shape.Should().Be(new Shape(2, 12));
        FluentActions.Invoking(() => new Flatten(2, 1).Call(x)).Should().Throw<OpException>().Where(e => e.LayerPath == "Flatten");
    }
}
