using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.Operators;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Parity;

/// <summary>
/// Every differentiable op, forward and gradient, on the eager torch backend (libtorch kernels and autograd) and on the
/// graph backend (ONNX Runtime one-node sessions and Core's gradient rules), from identical float32 inputs.
/// Tolerance: 1e-5 relative, 1e-6 absolute (see docs/parity.md for exceptions).
/// </summary>
[TestFixture]
[Category("Parity")]
public class OpParityTests
{
    private static readonly IComputeBackend Torch = BackendRegistry.Get("torch");
    private static readonly IComputeBackend Graph = BackendRegistry.Get("graph");

    // Dropout masks come from each backend's own random generator, so its values cannot agree; it has its own test below.
    public static IEnumerable<string> OpNames() => OpCases.Cases.Keys.Where(k => k != "dropout").Order();

    private static (float[] Output, float[][] Grads, Shape Shape) Run(IComputeBackend backend, OpCases.Case c)
    {
        using var scope = TensorScope.Begin();
        var xs = c.Args.Select(a => a.ToFloat32(backend)).ToArray();
        foreach (var x in xs) x.RequiresGrad = true;
        var y = c.F(xs);
        var rng = new Random(99);
        var cot = Tensor.FromArray(Enumerable.Range(0, (int)y.NumElements).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), y.Shape, backend);
        var loss = Ops.Sum(Ops.Mul(Ops.Cast(y, DType.Float32), cot));
        var g = Autograd.Grad([loss], xs);
        return (y.ToFloatArray(), g.Select((t, i) => t?.ToFloatArray() ?? new float[c.Args[i].Data.Length]).ToArray(), y.Shape);
    }

    [TestCaseSource(nameof(OpNames))]
    public void Forward_and_gradient_agree_between_backends(string op)
    {
        var c = OpCases.Cases[op];
        var (yt, gt, st) = Run(Torch, c);
        var (yg, gg, sg) = Run(Graph, c);
        sg.Should().Be(st);
        GradCheck.AssertClose(yg, yt.Select(v => (double)v).ToArray(), 1e-5, 1e-6, $"{op} forward");
        for (int i = 0; i < gt.Length; i++)
            GradCheck.AssertClose(gg[i], gt[i].Select(v => (double)v).ToArray(), 1e-5, 1e-6, $"{op} gradient of input {i}");
    }

    [Test]
    public void Dropout_on_the_graph_backend_scales_kept_values_and_routes_gradients_through_its_mask()
    {
        using var scope = TensorScope.Begin();
        var x = Tensor.FromArray(Enumerable.Range(1, 64).Select(i => (float)i).ToArray(), new Shape(8, 8), Graph);
        x.RequiresGrad = true;
        var (y, mask) = Ops.DropoutWithMask(x, 0.25, 77UL);
        var cot = Tensor.FromArray(Enumerable.Range(0, 64).Select(i => (float)(i % 7) - 3).ToArray(), new Shape(8, 8), Graph);
        var g = Autograd.Grad([Ops.Sum(Ops.Mul(y, cot))], [x])[0]!.ToFloatArray();
        var m = mask.ToArray<bool>();
        var ys = y.ToFloatArray();
        var c = cot.ToFloatArray();
        m.Count(b => b).Should().BeInRange(32, 60, "about three quarters are kept");
        for (int i = 0; i < 64; i++)
        {
            ys[i].Should().BeApproximately(m[i] ? (i + 1) / 0.75f : 0f, 1e-4f);
            g[i].Should().BeApproximately(m[i] ? c[i] / 0.75f : 0f, 1e-5f);
        }
    }
}
