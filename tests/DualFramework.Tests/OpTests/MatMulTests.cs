using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;


[TestFixture]
public class MatMulTests
{
    // Naive batched product with NumPy broadcasting of the batch dims (both operands rank >= 2).
    private static (double[] Data, long[] Shape) Naive(double[] a, long[] sa, double[] b, long[] sb)
    {
        long m = sa[^2], k = sa[^1], n = sb[^1];
        int batchRank = Math.Max(sa.Length, sb.Length) - 2;
        long[] Pad(long[] s) => Enumerable.Repeat(1L, batchRank - (s.Length - 2)).Concat(s[..^2]).ToArray();
        long[] ba = Pad(sa), bb = Pad(sb);
        var batch = ba.Zip(bb, Math.Max).ToArray();
        long count = batch.Aggregate(1L, (p, d) => p * d);
        var r = new double[count * m * n];
        for (long t = 0; t < count; t++)
        {
            long rem = t, oa = 0, ob = 0, strideA = 1, strideB = 1;
            for (int d = batchRank - 1; d >= 0; d--)
            {
                long i = rem % batch[d];
                rem /= batch[d];
                oa += (ba[d] == 1 ? 0 : i) * strideA;
                ob += (bb[d] == 1 ? 0 : i) * strideB;
                strideA *= ba[d];
                strideB *= bb[d];
            }
            for (long i = 0; i < m; i++)
                for (long j = 0; j < n; j++)
                {
                    double s = 0;
                    for (long q = 0; q < k; q++) s += a[oa * m * k + i * k + q] * b[ob * k * n + q * n + j];
                    r[t * m * n + i * n + j] = s;
                }
        }
        return (r, [.. batch, m, n]);
    }

    [Test]
    public void Matrix_product_matches_loops()
    {
        using var s = TensorScope.Begin();
        var a = Arg.Random(1, -1, 1, 3, 4);
        var b = Arg.Random(2, -1, 1, 4, 5);
        var y = Ops.MatMul(a.ToTensor(), b.ToTensor());
        var (want, shape) = Naive(a.Data, a.Shape, b.Data, b.Shape);
        y.Shape.Should().Be(new Shape(shape));
        GradCheck.AssertClose(y.ToDoubleArray(), want, 1e-12, 1e-12, "matmul");
    }

    [Test]
    public void Batch_dimensions_broadcast()
    {
        using var s = TensorScope.Begin();
        var a = Arg.Random(3, -1, 1, 2, 1, 2, 3);
        var b = Arg.Random(4, -1, 1, 3, 3, 4);
        var y = Ops.MatMul(a.ToTensor(), b.ToTensor());
        var (want, shape) = Naive(a.Data, a.Shape, b.Data, b.Shape);
        shape.Should().Equal(2, 3, 2, 4);
        y.Shape.Should().Be(new Shape(shape));
        GradCheck.AssertClose(y.ToDoubleArray(), want, 1e-12, 1e-12, "batched matmul");
        // A plain matrix against a batch.
        var m = Arg.Random(5, -1, 1, 2, 3);
        var y2 = Ops.MatMul(m.ToTensor(), b.ToTensor());
        var (want2, shape2) = Naive(m.Data, m.Shape, b.Data, b.Shape);
        y2.Shape.Should().Be(new Shape(shape2));
        GradCheck.AssertClose(y2.ToDoubleArray(), want2, 1e-12, 1e-12, "matrix @ batch");
    }

    [Test]
    public void Vectors_follow_numpy_rules()
    {
        using var s = TensorScope.Begin();
        var v = Tensor.FromArray(new[] { 1.0, 2.0, 3.0 });
        var m = Tensor.FromArray(new[] { 1.0, 0, 2, -1, 3, 1 }, new Shape(3, 2)); // rows (1,0), (2,-1), (3,1)
        var vm = Ops.MatMul(v, m);
        vm.Shape.Should().Be(new Shape(2));
        vm.ToDoubleArray().Should().Equal(14, 1);
        var mt = Ops.Transpose(m);
        var mv = Ops.MatMul(mt, v);
        mv.Shape.Should().Be(new Shape(2));
        mv.ToDoubleArray().Should().Equal(14, 1);
        var dot = Ops.MatMul(v, v);
        dot.Shape.Should().Be(Shape.Scalar);
        dot.Item().Should().Be(14);
        // Batched matrix @ vector: [2, 2, 3] @ [3] → [2, 2].
        var bm = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => (double)i).ToArray(), new Shape(2, 2, 3));
        var bmv = Ops.MatMul(bm, v);
        bmv.Shape.Should().Be(new Shape(2, 2));
        bmv.ToDoubleArray().Should().Equal(8, 26, 44, 62);
    }

    [Test]
    public void Integer_operands_stay_integer_and_mixed_dtypes_promote()
    {
        using var s = TensorScope.Begin();
        var a = Tensor.FromArray(new long[] { 1, 2, 3, 4 }, new Shape(2, 2));
        var b = Tensor.FromArray(new long[] { 5, 6, 7, 8 }, new Shape(2, 2));
        var y = Ops.MatMul(a, b);
        y.DType.Should().Be(DType.Int64);
        y.ToArray<long>().Should().Equal(19, 22, 43, 50);
        var f = Ops.MatMul(Ops.Cast(a, DType.Float32), b);
        f.DType.Should().Be(DType.Float32);
        f.ToDoubleArray().Should().Equal(19, 22, 43, 50);
    }

    [Test]
    public void Gradients_sum_over_broadcast_batch_dims()
    {
        using var s = TensorScope.Begin();
        GradCheck.Check(t => Ops.MatMul(t[0], t[1]), Arg.Random(6, -1, 1, 3, 4), Arg.Random(7, -1, 1, 4, 2));
        GradCheck.Check(t => Ops.MatMul(t[0], t[1]), Arg.Random(8, -1, 1, 2, 1, 2, 3), Arg.Random(9, -1, 1, 3, 3, 4));
        GradCheck.Check(t => Ops.MatMul(t[0], t[1]), Arg.Random(10, -1, 1, 2, 3), Arg.Random(11, -1, 1, 2, 3, 2));
    }

    [Test]
    public void Gradients_of_vector_forms()
    {
        using var s = TensorScope.Begin();
        GradCheck.Check(t => Ops.MatMul(t[0], t[1]), Arg.Random(12, -1, 1, 3), Arg.Random(13, -1, 1, 3, 2));
        GradCheck.Check(t => Ops.MatMul(t[0], t[1]), Arg.Random(14, -1, 1, 2, 2, 3), Arg.Random(15, -1, 1, 3));
        GradCheck.Check(t => Ops.MatMul(t[0], t[1]), Arg.Random(16, -1, 1, 4), Arg.Random(17, -1, 1, 4));
    }

    [Test]
    public void Inner_dimension_mismatch_names_both_shapes()
    {
        using var s = TensorScope.Begin();
        var a = Ops.Zeros(new Shape(2, 3));
        var b = Ops.Zeros(new Shape(4, 5));
        var act = () => Ops.MatMul(a, b);
        act.Should().Throw<OpException>().Where(e => e.Message.Contains("[2, 3]") && e.Message.Contains("[4, 5]") && e.Message.Contains("inner"));
        var v = Ops.Zeros(new Shape(4));
        ((Action)(() => Ops.MatMul(a, v))).Should().Throw<OpException>().WithMessage("*inner dimensions*[2, 3]*[4]*");
    }

    [Test]
    public void Invalid_operands_are_rejected()
    {
        using var s = TensorScope.Begin();
        var scalar = Tensor.Scalar(1.0);
        ((Action)(() => Ops.MatMul(scalar, Ops.Zeros(new Shape(2, 2))))).Should().Throw<OpException>().WithMessage("*rank >= 1*");
        var batchA = Ops.Zeros(new Shape(2, 2, 3));
        var batchB = Ops.Zeros(new Shape(3, 3, 4));
        ((Action)(() => Ops.MatMul(batchA, batchB))).Should().Throw<OpException>().WithMessage("*batch dimensions*");
        var bools = Ops.Cast(Ops.Zeros(new Shape(2, 2)), DType.Bool);
        ((Action)(() => Ops.MatMul(bools, bools))).Should().Throw<OpException>().WithMessage("*bool*");
        // The op itself (bypassing Ops.MatMul) needs rank >= 2 and one dtype.
        ((Action)(() => DualFramework.Operators.Dispatcher.Apply(DualFramework.Operators.OpSet.MatMul, DualFramework.Operators.OpAttrs.None,
            Ops.Zeros(new Shape(3)), Ops.Zeros(new Shape(3, 2))))).Should().Throw<OpException>().WithMessage("*rank >= 2*");
        ((Action)(() => DualFramework.Operators.Dispatcher.Apply(DualFramework.Operators.OpSet.MatMul, DualFramework.Operators.OpAttrs.None,
            Ops.Zeros(new Shape(2, 3)), Ops.Zeros(new Shape(3, 2), DType.Float64)))).Should().Throw<OpException>().WithMessage("*dtypes differ*");
    }
}

[TestFixture]
public class LinearOpTests
{
    [Test]
    public void Linear_matches_a_loop_and_validates()
    {
        using var s = TensorScope.Begin();
        double[] x = [1, 2, 3, 4, 5, 6];         // [2, 3]
        double[] w = [0.5, -1, 2, 1, 0, -0.5];    // [2, 3]
        double[] b = [0.25, -0.75];
        var y = DualFramework.Ops.Linear(Tensor.FromArray(x, new Shape(2, 3)), Tensor.FromArray(w, new Shape(2, 3)), Tensor.FromArray(b, new Shape(2)));
        var expected = new double[4];
        for (int n = 0; n < 2; n++)
            for (int o = 0; o < 2; o++)
            {
                double acc = b[o];
                for (int i = 0; i < 3; i++) acc += x[n * 3 + i] * w[o * 3 + i];
                expected[n * 2 + o] = acc;
            }
        y.ToDoubleArray().Should().Equal(expected);
        var noBias = DualFramework.Ops.Linear(Tensor.FromArray(x, new Shape(2, 3)), Tensor.FromArray(w, new Shape(2, 3)));
        noBias.ToDoubleArray().Should().Equal(expected.Select((v, k) => v - b[k % 2]));
        var bad = () => DualFramework.Ops.Linear(Tensor.FromArray(x, new Shape(3, 2)), Tensor.FromArray(w, new Shape(2, 3)));
        bad.Should().Throw<OpException>().WithMessage("*input features 2 differ from weight in_features 3*");
    }
}
