using DualFramework.Autodiff;
using DualFramework.Backends;
using FluentAssertions;
using NUnit.Framework;
using TorchSharp;

namespace DualFramework.Tests.OpTests;

/// <summary>topk, det and Ops.Einsum on both backends: forward values against hand-derived results, float64 loops and
/// libtorch's float64 functions; gradients against float64 central finite differences.</summary>
[TestFixture]
public class TopKDetEinsumTests
{
    private static IComputeBackend B(string name) => BackendRegistry.Get(name);

    private static double[] Random(int seed, int n)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => r.NextDouble() * 2 - 1).ToArray();
    }

    /// <summary>Asserts that the gradient of sum(f(x) · w) on <paramref name="backend"/> matches float64 central differences.</summary>
    private static void FiniteDifferences(string backend, Func<Tensor, Tensor> f, double[] x, long[] shape, double tol = 1e-6)
    {
        using var scope = TensorScope.Begin();
        var be = B(backend);
        double[] w;
        {
            var y0 = f(Tensor.FromArray(x, new Shape(shape), be));
            w = Random(77, (int)y0.NumElements);
        }
        double Loss(double[] v)
        {
            using var s = TensorScope.Begin();
            using var ng = Autograd.NoGrad();
            var y = f(Tensor.FromArray(v, new Shape(shape), be));
            return Ops.Sum(Ops.Mul(y, Tensor.FromArray(w, y.Shape, be))).Item();
        }
        var t = Tensor.FromArray(x, new Shape(shape), be);
        t.RequiresGrad = true;
        var yt = f(t);
        var g = Autograd.Grad([Ops.Sum(Ops.Mul(yt, Tensor.FromArray(w, yt.Shape, be)))], [t])[0]!.ToDoubleArray();
        for (int i = 0; i < x.Length; i++)
        {
            var (p, m) = ((double[])x.Clone(), (double[])x.Clone());
            p[i] += 1e-6;
            m[i] -= 1e-6;
            g[i].Should().BeApproximately((Loss(p) - Loss(m)) / 2e-6, tol, $"d/dx[{i}] on {backend}");
        }
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void TopK_keeps_the_largest_or_smallest_with_their_positions(string backend)
    {
        using var s = TensorScope.Begin();
        // Rows [3 1 4 1.5], [9 2 6 5]: hand-sorted.
        var x = Tensor.FromArray(new double[] { 3, 1, 4, 1.5, 9, 2, 6, 5 }, new Shape(2, 4), B(backend));
        var (v, i) = Ops.TopK(x, 2);
        v.ToDoubleArray().Should().Equal(4, 3, 9, 6);
        i.ToArray<long>().Should().Equal(2, 0, 0, 2);
        var (vs, js) = Ops.TopK(x, 3, axis: 1, largest: false);
        vs.ToDoubleArray().Should().Equal(1, 1.5, 3, 2, 5, 6);
        js.ToArray<long>().Should().Equal(1, 3, 0, 1, 3, 2);
        var (v0, i0) = Ops.TopK(x, 1, axis: 0);
        v0.Shape.Should().Be(new Shape(1, 4));
        v0.ToDoubleArray().Should().Equal(9, 2, 6, 5);
        i0.ToArray<long>().Should().Equal(1, 1, 1, 1);
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void TopK_gradient_reaches_only_the_kept_elements(string backend) =>
        FiniteDifferences(backend, t => Ops.TopK(t, 2, axis: 1).Values, Random(5, 12), [3, 4]);

    [Test]
    public void TopK_shape_rule_rejects_k_beyond_the_axis()
    {
        using var s = TensorScope.Begin();
        FluentActions.Invoking(() => Ops.TopK(Ops.Zeros(new Shape(2, 3)), 4)).Should().Throw<OpException>().WithMessage("*topk*k = 4*[0, 3]*");
        FluentActions.Invoking(() => Ops.TopK(Ops.Zeros(new Shape(2, 3)), 1, axis: 2)).Should().Throw<OpException>().WithMessage("*axis 2*");
    }

    /// <summary>float64 Gaussian elimination with partial pivoting (independent of libtorch and ONNX Runtime).</summary>
    private static double Det(double[] a, int n)
    {
        var m = (double[])a.Clone();
        double det = 1;
        for (int c = 0; c < n; c++)
        {
            int p = Enumerable.Range(c, n - c).MaxBy(r => Math.Abs(m[r * n + c]));
            if (p != c) { det = -det; for (int k = 0; k < n; k++) (m[c * n + k], m[p * n + k]) = (m[p * n + k], m[c * n + k]); }
            det *= m[c * n + c];
            if (m[c * n + c] == 0) return 0;
            for (int r = c + 1; r < n; r++)
            {
                double f = m[r * n + c] / m[c * n + c];
                for (int k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k];
            }
        }
        return det;
    }

    [TestCase("torch", 1)]
    [TestCase("torch", 3)]
    [TestCase("torch", 5)]
    [TestCase("graph", 1)]
    [TestCase("graph", 3)]
    [TestCase("graph", 4)]
    public void Det_matches_float64_elimination(string backend, int n)
    {
        using var s = TensorScope.Begin();
        var data = Random(10 + n, 3 * n * n);
        var d = Ops.Det(Tensor.FromArray(data, new Shape(3, n, n), B(backend))).ToDoubleArray();
        d.Should().HaveCount(3);
        for (int b = 0; b < 3; b++) d[b].Should().BeApproximately(Det(data[(b * n * n)..((b + 1) * n * n)], n), 1e-12);
        // 2×2 by hand: ad − bc.
        Ops.Det(Tensor.FromArray(new double[] { 3, 8, 4, 6 }, new Shape(2, 2), B(backend))).Item().Should().Be(3 * 6 - 8 * 4);
    }

    [Test]
    public void Det_of_larger_float64_matrices_on_the_graph_backend_is_float32_accurate()
    {
        // ORT's Det is float32 only; 5×5 and larger float64 matrices are computed in float32 there.
        using var s = TensorScope.Begin();
        var data = Random(20, 2 * 25);
        var d = Ops.Det(Tensor.FromArray(data, new Shape(2, 5, 5), B("graph"))).ToDoubleArray();
        for (int b = 0; b < 2; b++) d[b].Should().BeApproximately(Det(data[(b * 25)..((b + 1) * 25)], 5), 1e-5);
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void Det_gradient_matches_finite_differences(string backend) =>
        FiniteDifferences(backend, t => Ops.Det(t), Random(30, 2 * 9), [2, 3, 3], 1e-5);

    [TestCase("torch")]
    [TestCase("graph")]
    public void Det_gradient_of_a_singular_matrix_is_its_cofactor_matrix(string backend)
    {
        // A = [[1 2], [2 4]] (det 0): d det / dA = [[a11, −a10], [−a01, a00]] = [[4, −2], [−2, 1]] (det · A⁻ᵀ does not exist).
        // Our rule, on the tape: libtorch's own det backward (the torch backend's native autograd) returns zeros here.
        using var s = TensorScope.Begin();
        using var tape = Autograd.UseTape();
        var a = Tensor.FromArray(new double[] { 1, 2, 2, 4 }, new Shape(2, 2), B(backend));
        a.RequiresGrad = true;
        Autograd.Grad([Ops.Det(a)], [a])[0]!.ToDoubleArray().Should().Equal(4, -2, -2, 1);
    }

    [Test]
    public void Det_rejects_non_square_and_integer_operands()
    {
        using var s = TensorScope.Begin();
        FluentActions.Invoking(() => Ops.Det(Ops.Zeros(new Shape(2, 3)))).Should().Throw<OpException>().WithMessage("*det*square*");
        FluentActions.Invoking(() => Ops.Det(Ops.Zeros(new Shape(2, 2), DType.Int64))).Should().Throw<OpException>().WithMessage("*must be floating*int64*");
    }

    private static readonly (string Equation, long[][] Shapes)[] Equations =
    [
        ("bij,bjk->bik", [[2, 3, 4], [2, 4, 5]]),
        ("ij->ji", [[3, 4]]),
        ("...ii->...i", [[2, 3, 3]]),
        ("i,i", [[5], [5]]),
        ("ij->i", [[3, 4]]),
        ("ii", [[4, 4]]),
        ("ij,jk,kl->il", [[2, 3], [3, 4], [4, 2]]),
        ("b...i,ij->...bj", [[2, 1, 3, 4], [4, 2]]),
        ("ik,jk", [[2, 3], [4, 3]]),
        ("iij,kj->ik", [[3, 3, 2], [4, 2]]),
        ("...i,...i->...", [[2, 1, 3], [4, 3]]),
    ];

    public static IEnumerable<TestCaseData> EinsumCases() =>
        from e in Equations.Select((e, i) => (e, i))
        from b in new[] { "torch", "graph" }
        select new TestCaseData(e.i, b).SetName($"Einsum_matches_torch_einsum_in_float64({e.e.Equation}, {b})");

    [TestCaseSource(nameof(EinsumCases))]
    public void Einsum_matches_torch_einsum_in_float64(int index, string backend)
    {
        // Reference: libtorch's own einsum (its contraction path, not ours) on the same float64 values.
        var (equation, shapes) = Equations[index];
        using var s = TensorScope.Begin();
        var data = shapes.Select((sh, k) => Random(40 + k, (int)sh.Aggregate(1L, (p, v) => p * v))).ToArray();
        var ours = Ops.Einsum(equation, data.Select((d, k) => Tensor.FromArray(d, new Shape(shapes[k]), B(backend))).ToArray());
        var refs = data.Select((d, k) => torch.tensor(d, shapes[k], torch.float64)).ToArray();
        using var expected = torch.einsum(equation, refs);
        ours.Shape.ToArray().Should().Equal(expected.shape);
        var want = expected.data<double>().ToArray();
        var got = ours.ToDoubleArray();
        for (int i = 0; i < want.Length; i++) got[i].Should().BeApproximately(want[i], 1e-12, $"element {i}");
        foreach (var r in refs) r.Dispose();
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void Einsum_gradient_matches_finite_differences(string backend)
    {
        // A diagonal, a contraction and a broadcast label in one equation; the second operand is fixed.
        var other = Random(51, 3 * 2);
        FiniteDifferences(backend, t => Ops.Einsum("iij,jk->ik", t, Tensor.FromArray(other, new Shape(2, 3), t.Backend)), Random(50, 3 * 3 * 2), [3, 3, 2]);
    }

    [Test]
    public void Einsum_rejects_malformed_equations()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Zeros(new Shape(2, 3));
        FluentActions.Invoking(() => Ops.Einsum("ij,jk", x)).Should().Throw<OpException>().WithMessage("*einsum*2 input terms for 1 operands*");
        FluentActions.Invoking(() => Ops.Einsum("ijk", x)).Should().Throw<OpException>().WithMessage("*does not fit operand 0*");
        FluentActions.Invoking(() => Ops.Einsum("ij->k", x)).Should().Throw<OpException>().WithMessage("*'k' is in no input*");
        FluentActions.Invoking(() => Ops.Einsum("ii", x)).Should().Throw<OpException>().WithMessage("*label 'i' has sizes 2 and 3*");
        FluentActions.Invoking(() => Ops.Einsum("ij,ij", x, Ops.Zeros(new Shape(2, 4)))).Should().Throw<OpException>().WithMessage("*label 'j' has sizes 3 and 4*");
    }
}
