using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;
using TorchSharp;
using F = TorchSharp.torch.nn.functional;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Tests.OpTests;

/// <summary>
/// 3-D convolution, transposed convolution, max / average pooling, max unpooling and average pooling in ceil mode, on
/// both backends: forward and gradients against libtorch's own float64 functions and autograd (called directly through
/// TorchSharp), and on the torch backend against float64 finite differences (<see cref="GradCheck"/>).
/// </summary>
[TestFixture]
public class Spatial3dTests
{
    private sealed record Case(Func<Tensor[], Tensor> Ours, Func<TT[], TT> Reference, Arg[] Args);

    private static Arg Rnd(int seed, params long[] shape) => Arg.Random(seed, -1, 1, shape);

    // Distinct positions per (n, c) volume of size `volume` (a seeded shuffle), as max pooling's indices are.
    private static long[] UnpoolIndices(int seed, long planes, long count, long volume)
    {
        var r = new Random(seed);
        var idx = new long[planes * count];
        for (long p = 0; p < planes; p++)
        {
            var order = Enumerable.Range(0, (int)volume).Select(v => (long)v).OrderBy(_ => r.Next()).Take((int)count).ToArray();
            Array.Copy(order, 0, idx, p * count, count);
        }
        return idx;
    }

    private static readonly long[] UnpoolIdx = UnpoolIndices(7, 2, 12, 60);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["conv3d"] = new(t => Ops.Conv3d(t[0], t[1], t[2], [2, 1, 2], [1, 0, 1], [1, 2, 1], 2),
            r => F.conv3d(r[0], r[1], r[2], [2, 1, 2], [1, 0, 1], [1, 2, 1], 2),
            [Rnd(1, 1, 4, 4, 5, 4), Rnd(2, 4, 2, 2, 2, 3), Rnd(3, 4)]),
        ["conv_transpose3d"] = new(t => Ops.ConvTranspose3d(t[0], t[1], t[2], [2, 1, 2], [1, 0, 0], [1, 0, 1], [1, 2, 1], 2),
            r => F.conv_transpose3d(r[0], r[1], r[2], [2, 1, 2], [1, 0, 0], [1, 0, 1], [1, 2, 1], 2),
            [Rnd(4, 1, 4, 3, 2, 3), Rnd(5, 4, 1, 3, 2, 2), Rnd(6, 2)]),
        ["max_pool3d_ceil_dilation"] = new(t => Ops.MaxPool3d(t[0], [2, 3, 2], [2, 2, 1], [1, 1, 0], [1, 1, 2], ceilMode: true),
            r => F.max_pool3d_with_indices(r[0], [2, 3, 2], [2, 2, 1], [1, 1, 0], [1, 1, 2], true).Item1,
            [Rnd(7, 2, 2, 5, 6, 5)]),
        ["max_pool3d_overlapping"] = new(t => Ops.MaxPool3d(t[0], [3, 3, 3], [1, 2, 1]),
            r => F.max_pool3d_with_indices(r[0], [3, 3, 3], [1, 2, 1], [0, 0, 0], [1, 1, 1], false).Item1,
            [Rnd(8, 1, 2, 4, 5, 4)]),
        ["avg_pool3d_include_pad"] = new(t => Ops.AvgPool3d(t[0], [3, 2, 3], [2, 2, 2], [1, 1, 1]),
            r => F.avg_pool3d(r[0], [3, 2, 3], [2, 2, 2], [1, 1, 1], ceil_mode: false, count_include_pad: true),
            [Rnd(9, 2, 2, 5, 4, 6)]),
        ["avg_pool3d_ceil_exclude_pad"] = new(t => Ops.AvgPool3d(t[0], [2, 3, 2], [2, 2, 2], [1, 0, 1], countIncludePad: false, ceilMode: true),
            r => F.avg_pool3d(r[0], [2, 3, 2], [2, 2, 2], [1, 0, 1], ceil_mode: true, count_include_pad: false),
            [Rnd(10, 1, 2, 5, 6, 4)]),
        // H = 6: the last ceil-mode window reaches past the right padding, so even count_include_pad clips its divisor.
        ["avg_pool2d_ceil_include_pad"] = new(t => Ops.AvgPool2d(t[0], [3, 3], [2, 2], [1, 1], countIncludePad: true, ceilMode: true),
            r => F.avg_pool2d(r[0], [3, 3], [2, 2], [1, 1], ceil_mode: true, count_include_pad: true),
            [Rnd(11, 2, 3, 6, 7)]),
        ["avg_pool2d_ceil_exclude_pad"] = new(t => Ops.AvgPool2d(t[0], [2, 3], [3, 2], [0, 1], countIncludePad: false, ceilMode: true),
            r => F.avg_pool2d(r[0], [2, 3], [3, 2], [0, 1], ceil_mode: true, count_include_pad: false),
            [Rnd(12, 1, 2, 7, 6)]),
        // Values scattered to distinct positions of a 3×4×5 volume; the reference is libtorch's scatter.
        ["max_unpool3d"] = new(t => Ops.MaxUnpoolTo(t[0], Tensor.FromArray(UnpoolIdx, new Shape(1, 2, 2, 2, 3), t[0].Backend), [3, 4, 5]),
            r => torch.zeros([1, 2, 60], torch.float64).scatter(2, torch.tensor(UnpoolIdx, [1, 2, 12]), r[0].reshape(1, 2, 12)).reshape(1, 2, 3, 4, 5),
            [Rnd(13, 1, 2, 2, 2, 3)]),
    };

    public static IEnumerable<string> Names() => Cases.Keys.Order();

    // A fixed cotangent so that every output element counts in the gradient.
    private static double[] Cotangent(long n)
    {
        var r = new Random(99);
        return Enumerable.Range(0, (int)n).Select(_ => r.NextDouble() * 2 - 1).ToArray();
    }

    /// <summary>libtorch's float64 output and the gradients of Σ cot·y, by libtorch autograd.</summary>
    private static (double[] Y, long[] Shape, double[][] Grads) Reference(Case c)
    {
        using var scope = torch.NewDisposeScope();
        var xs = c.Args.Select(a => torch.tensor(a.Data, a.Shape, torch.float64).requires_grad_(true)).ToArray();
        var y = c.Reference(xs);
        var cot = torch.tensor(Cotangent(y.numel()), y.shape, torch.float64);
        (y * cot).sum().backward();
        return (y.detach().data<double>().ToArray(), y.shape, xs.Select(x => x.grad!.data<double>().ToArray()).ToArray());
    }

    [TestCaseSource(nameof(Names))]
    public void Torch_backend_matches_libtorch_float64_and_finite_differences(string name)
    {
        var c = Cases[name];
        var (want, shape, _) = Reference(c);
        using (TensorScope.Begin())
        {
            var y = c.Ours(c.Args.Select(a => a.ToTensor()).ToArray());
            y.Shape.Should().Be(new Shape(shape));
            GradCheck.AssertClose(y.ToDoubleArray(), want, 1e-12, 1e-12, $"{name} forward");
        }
        GradCheck.Check(c.Ours, c.Args);
    }

    [TestCaseSource(nameof(Names))]
    public void Graph_backend_float32_matches_libtorch_float64(string name)
    {
        var c = Cases[name];
        var (want, shape, grads) = Reference(c);
        var graph = BackendRegistry.Get("graph");
        using var s = TensorScope.Begin();
        var xs = c.Args.Select(a => a.ToFloat32(graph)).ToArray();
        foreach (var x in xs) x.RequiresGrad = true;
        var y = c.Ours(xs);
        y.Shape.Should().Be(new Shape(shape));
        // Float32 inputs rounded from the float64 ones; sums of at most 36 products of values in [−1, 1].
        GradCheck.AssertClose(y.ToFloatArray(), want, 1e-5, 1e-5, $"{name} forward on the graph backend");
        var cot = Tensor.FromArray(Cotangent(y.NumElements).Select(v => (float)v).ToArray(), y.Shape, graph);
        var g = Autograd.Grad([Ops.Sum(Ops.Mul(y, cot))], xs);
        for (int i = 0; i < xs.Length; i++)
            GradCheck.AssertClose(g[i]!.ToFloatArray(), grads[i], 1e-5, 1e-4, $"{name} gradient of input {i} on the graph backend");
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void Max_pool3d_indices_are_libtorchs(string backendName)
    {
        var backend = BackendRegistry.Get(backendName);
        var x = Rnd(14, 2, 3, 5, 6, 7);
        using var scope = torch.NewDisposeScope();
        var idx = F.max_pool3d_with_indices(torch.tensor(x.Data, x.Shape, torch.float64), [2, 3, 2], [2, 2, 3], [1, 1, 0], [1, 2, 1], true).Item2;
        using var s = TensorScope.Begin();
        var (values, indices) = Ops.MaxPool3dWithIndices(x.ToFloat32(backend), [2, 3, 2], [2, 2, 3], [1, 1, 0], [1, 2, 1], ceilMode: true);
        indices.Shape.Should().Be(new Shape(idx.shape));
        indices.ToArray<long>().Should().Equal(idx.data<long>().ToArray());
        // Each maximum sits at its index in its (n, c) volume.
        var v = values.ToFloatArray();
        var at = indices.ToArray<long>();
        long perPlane = at.Length / 6;
        for (int i = 0; i < at.Length; i++) v[i].Should().Be((float)x.Data[i / perPlane * 5 * 6 * 7 + at[i]]);
    }

    [Test]
    public void Layers_have_pytorch_shapes_and_run_their_ops()
    {
        using var s = TensorScope.Begin();
        var conv = new DualFramework.NN.Conv3d(4, 6, [3, 2, 1], stride: [2, 1, 1], padding: [1, 0, 0], groups: 2, rng: new DualFramework.NN.SeededRandom(1));
        conv.Weight.Value.Shape.Should().Be(new Shape(6, 2, 3, 2, 1));
        var up = new DualFramework.NN.ConvTranspose3d(4, 6, [3, 2, 1], stride: [2, 1, 1], outputPadding: [1, 0, 0], groups: 2, rng: new DualFramework.NN.SeededRandom(2));
        up.Weight.Value.Shape.Should().Be(new Shape(4, 3, 3, 2, 1));
        // PyTorch's bound for a transposed conv: 1/√(out/groups · Πk) = 1/√18.
        up.Weight.Value.ToDoubleArray().Max(Math.Abs).Should().BeLessThanOrEqualTo(1 / Math.Sqrt(18) + 1e-7);
        var x = Rnd(15, 2, 4, 5, 4, 3).ToFloat32(BackendRegistry.Default);
        conv.Forward(x).Shape.Should().Be(new Shape(2, 6, 3, 3, 3));
        up.Forward(x).Shape.Should().Be(new Shape(2, 6, 12, 5, 3)); // (5 − 1)·2 + 2 + 1 + output padding 1
        new DualFramework.NN.MaxPool3d([2, 2, 2]).Forward(x).Shape.Should().Be(new Shape(2, 4, 2, 2, 1));
        new DualFramework.NN.AvgPool3d([2, 2, 2], ceilMode: true).Forward(x).Shape.Should().Be(new Shape(2, 4, 3, 2, 2));
        // Unbatched [C, D, H, W] input.
        new DualFramework.NN.MaxPool3d([2, 2, 2]).Forward(Rnd(16, 4, 5, 4, 3).ToFloat32(BackendRegistry.Default)).Shape.Should().Be(new Shape(4, 2, 2, 1));
    }
}
