using DualFramework.Autodiff;
using DualFramework.Operators;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.OpTests;


[TestFixture]
public class ReductionTests
{
    private static readonly long[] Shape3 = [2, 3, 4];

    private static double[] Random(int seed, int n)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => Math.Round(rng.NextDouble() * 10 - 5, 3)).ToArray();
    }

    // Plain-loop reference: reduces `data` (row-major, `shape`) over `axes` (empty = all) with `f`; returns values and keep-dims shape.
    private static (double[] Values, long[] KeepShape) Reference(double[] data, long[] shape, int[] axes, Func<List<double>, double> f)
    {
        int rank = shape.Length;
        var reduced = axes.Length == 0 ? Enumerable.Range(0, rank).ToHashSet() : axes.Select(a => a < 0 ? a + rank : a).ToHashSet();
        var keep = shape.Select((d, i) => reduced.Contains(i) ? 1L : d).ToArray();
        long outN = keep.Aggregate(1L, (a, b) => a * b);
        var groups = Enumerable.Range(0, (int)outN).Select(_ => new List<double>()).ToArray();
        var idx = new long[rank];
        for (int flat = 0; flat < data.Length; flat++)
        {
            long rem = flat;
            for (int d = rank - 1; d >= 0; d--) { idx[d] = rem % shape[d]; rem /= shape[d]; }
            long o = 0;
            for (int d = 0; d < rank; d++) o = o * keep[d] + (reduced.Contains(d) ? 0 : idx[d]);
            groups[o].Add(data[flat]);
        }
        return (groups.Select(f).ToArray(), keep);
    }

    public static IEnumerable<TestCaseData> ReduceCases()
    {
        var fs = new (string, Func<Tensor, int[]?, bool, Tensor>, Func<List<double>, double>)[]
        {
            ("sum", (t, a, k) => Ops.Sum(t, a, k), g => g.Sum()),
            ("mean", (t, a, k) => Ops.Mean(t, a, k), g => g.Average()),
            ("max", (t, a, k) => Ops.Max(t, a, k), g => g.Max()),
            ("min", (t, a, k) => Ops.Min(t, a, k), g => g.Min()),
        };
        int[][] axesList = [[], [1], [-1], [0, 2], [2, 0], [0, 1, 2]];
        foreach (var (name, op, reference) in fs)
            foreach (var axes in axesList)
                foreach (var keep in new[] { false, true })
                    yield return new TestCaseData(name, op, reference, axes, keep).SetArgDisplayNames(name, $"[{string.Join(",", axes)}]", keep ? "keep" : "drop");
    }

    [TestCaseSource(nameof(ReduceCases))]
    public void Reduce_forward_matches_loops(string name, Func<Tensor, int[]?, bool, Tensor> op, Func<List<double>, double> reference, int[] axes, bool keep)
    {
        using var s = TensorScope.Begin();
        var data = Random(7, 24);
        var y = op(Tensor.FromArray(data, new Shape(Shape3)), axes.Length == 0 ? null : axes, keep);
        var (expected, keepShape) = Reference(data, Shape3, axes, reference);
        var reducedSet = axes.Select(a => a < 0 ? a + 3 : a).ToHashSet();
        var expectedShape = keep ? keepShape : Shape3.Where((_, i) => axes.Length != 0 && !reducedSet.Contains(i)).ToArray();
        y.Shape.Should().Be(new Shape(expectedShape), name);
        y.DType.Should().Be(DType.Float64);
        GradCheck.AssertClose(y.ToDoubleArray(), expected, 1e-12, 1e-12, name);
    }

    [TestCaseSource(nameof(ReduceCases))]
    public void Reduce_gradient_matches_finite_differences_and_autograd(string name, Func<Tensor, int[]?, bool, Tensor> op, Func<List<double>, double> reference, int[] axes, bool keep)
    {
        _ = reference;
        // Random distinct values: max/min have a unique arg-extremum in every group (no ties).
        GradCheck.Check(t => op(t[0], axes.Length == 0 ? null : axes, keep), Arg.Of(Shape3, Random(11, 24)));
    }

    [Test]
    public void Sum_of_small_integers_is_int64_and_other_dtypes_are_kept()
    {
        using var s = TensorScope.Begin();
        var i32 = Tensor.FromArray(new[] { 2_000_000_000, 2_000_000_000, 5 }, new Shape(3));
        var sum = Ops.Sum(i32);
        sum.DType.Should().Be(DType.Int64);
        sum.ToArray<long>().Should().Equal(4_000_000_005L);   // would overflow int32
        var u8 = Tensor.FromArray(new byte[] { 200, 100, 7 }, new Shape(3));
        Ops.Sum(u8).ToArray<long>().Should().Equal(307L);
        var i8 = Tensor.FromArray(new sbyte[] { -100, -100, 3, 1 }, new Shape(2, 2));
        var rows = Ops.Sum(i8, 1);
        rows.DType.Should().Be(DType.Int64);
        rows.ToArray<long>().Should().Equal(-200L, 4L);
        Ops.Sum(Tensor.FromArray(new[] { 1L, 2L }, new Shape(2))).DType.Should().Be(DType.Int64);
        Ops.Sum(Tensor.FromArray(new[] { 1f, 2f }, new Shape(2))).DType.Should().Be(DType.Float32);
        var mx = Ops.Max(Tensor.FromArray(new[] { 3, -1, 9, 4 }, new Shape(2, 2)), 0);
        mx.DType.Should().Be(DType.Int32);
        mx.ToArray<int>().Should().Equal(9, 4);
        Ops.Min(Tensor.FromArray(new[] { 3, -1, 9, 4 }, new Shape(2, 2))).ToArray<int>().Should().Equal(-1);
        var mean = Ops.Mean(Tensor.FromArray(new[] { 1, 2, 3, 6 }, new Shape(2, 2)), 1);
        mean.DType.Should().Be(DType.Float32);
        mean.ToDoubleArray().Should().Equal(1.5, 4.5);
    }

    [Test]
    public void Reductions_of_empty_axes_and_scalars()
    {
        using var s = TensorScope.Begin();
        var empty = Ops.Zeros(new Shape(2, 0), DType.Float64);
        var sum = Ops.Sum(empty, 1);
        sum.Shape.Should().Be(new Shape(2));
        sum.ToDoubleArray().Should().Equal(0, 0);
        Ops.Sum(empty, 0).Shape.Should().Be(new Shape(0));
        var scalar = Tensor.Scalar(2.5);
        Ops.Sum(scalar).Item().Should().Be(2.5);
        Ops.Max(scalar, keepDims: true).Shape.Should().Be(Shape.Scalar);
    }

    [Test]
    public void Max_and_min_ties_share_the_gradient_equally()
    {
        using var s = TensorScope.Begin();
        double[] data = [1, 3, 3, 2, 2, 2];
        foreach (var tape in new[] { true, false })
        {
            using var mode = tape ? Autograd.UseTape() : null;
            var x = Tensor.FromArray(data, new Shape(2, 3));
            x.RequiresGrad = true;
            var gMax = Autograd.Grad([Ops.Sum(Ops.Max(x, 1))], [x])[0]!.ToDoubleArray();
            GradCheck.AssertClose(gMax, [0, 0.5, 0.5, 1.0 / 3, 1.0 / 3, 1.0 / 3], 1e-15, 1e-15, $"max, tape={tape}");
            var gMin = Autograd.Grad([Ops.Sum(Ops.Min(x))], [x])[0]!.ToDoubleArray();
            // The global minimum 1 is unique; the three 2s are not minima.
            GradCheck.AssertClose(gMin, [1, 0, 0, 0, 0, 0], 1e-15, 1e-15, $"min, tape={tape}");
            var gAll = Autograd.Grad([Ops.Max(x)], [x])[0]!.ToDoubleArray();
            GradCheck.AssertClose(gAll, [0, 0.5, 0.5, 0, 0, 0], 1e-15, 1e-15, $"max all, tape={tape}");
        }
    }

    [Test]
    public void Reduce_errors()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Zeros(new Shape(2, 3));
        FluentActions.Invoking(() => Ops.Sum(x, 2)).Should().Throw<OpException>().WithMessage("sum*axis 2 is out of range*");
        FluentActions.Invoking(() => Ops.Mean(x, [-3])).Should().Throw<OpException>().WithMessage("mean*out of range*");
        FluentActions.Invoking(() => Ops.Max(x, [1, -1])).Should().Throw<OpException>().WithMessage("max*repeated*");
        FluentActions.Invoking(() => Ops.Sum(Ops.Cast(x, DType.Bool))).Should().Throw<OpException>().WithMessage("sum*bool*");
        FluentActions.Invoking(() => Ops.Min(Ops.Zeros(new Shape(2, 0)), 1)).Should().Throw<OpException>().WithMessage("min*empty axis 1*");
        FluentActions.Invoking(() => Ops.Max(Ops.Zeros(new Shape(0)))).Should().Throw<OpException>().WithMessage("max*empty*");
        // The op rule itself rejects un-normalised or integer operands that bypass Ops.
        FluentActions.Invoking(() => Dispatcher.Apply(OpSet.Sum, new ReduceAttrs([5], false), x)).Should().Throw<OpException>().WithMessage("*axis 5*");
        FluentActions.Invoking(() => Dispatcher.Apply(OpSet.Mean, new ReduceAttrs([], false), Ops.Cast(x, DType.Int32))).Should().Throw<OpException>().WithMessage("mean*floating*");
    }

    // ---- argmax / argmin ----

    private static long[] ArgRef(double[] data, long[] shape, int axis, bool max)
    {
        int rank = shape.Length;
        long outer = shape.Take(axis).Aggregate(1L, (a, b) => a * b), n = shape[axis], inner = shape.Skip(axis + 1).Aggregate(1L, (a, b) => a * b);
        var r = new long[outer * inner];
        for (long o = 0; o < outer; o++)
            for (long i = 0; i < inner; i++)
            {
                long best = 0;
                for (long k = 1; k < n; k++)
                {
                    double v = data[(o * n + k) * inner + i], b = data[(o * n + best) * inner + i];
                    if (max ? v > b : v < b) best = k;   // strict: the first extreme wins ties
                }
                r[o * inner + i] = best;
            }
        _ = rank;
        return r;
    }

    [Test]
    public void ArgMax_and_ArgMin_along_each_axis_match_loops()
    {
        using var s = TensorScope.Begin();
        // Small integers give many ties, exercising the first-index rule.
        var rng = new Random(3);
        var data = Enumerable.Range(0, 24).Select(_ => (double)rng.Next(0, 3)).ToArray();
        var x = Tensor.FromArray(data, new Shape(Shape3));
        for (int axis = 0; axis < 3; axis++)
            foreach (var max in new[] { true, false })
            {
                var expected = ArgRef(data, Shape3, axis, max);
                var y = max ? Ops.ArgMax(x, axis) : Ops.ArgMin(x, axis - 3);
                y.DType.Should().Be(DType.Int64);
                y.Shape.Should().Be(new Shape(Shape3.Where((_, i) => i != axis).ToArray()));
                y.ToArray<long>().Should().Equal(expected, $"axis {axis}, max={max}");
                var k = max ? Ops.ArgMax(x, axis, keepDims: true) : Ops.ArgMin(x, axis, keepDims: true);
                k.Shape.Should().Be(new Shape(Shape3.Select((d, i) => i == axis ? 1 : d).ToArray()));
                k.ToArray<long>().Should().Equal(expected);
            }
    }

    [Test]
    public void ArgMax_without_axis_indexes_the_flattened_tensor_and_takes_the_first_tie()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(new[] { 1, 7, 3, 7, -2, -2 }, new Shape(2, 3));
        var a = Ops.ArgMax(x);
        a.Shape.Should().Be(Shape.Scalar);
        a.DType.Should().Be(DType.Int64);
        a.ToArray<long>().Should().Equal(1L);
        Ops.ArgMin(x).ToArray<long>().Should().Equal(4L);
        var k = Ops.ArgMax(x, keepDims: true);
        k.Shape.Should().Be(new Shape(1, 1));
        k.ToArray<long>().Should().Equal(1L);
        Ops.ArgMin(Tensor.FromArray(new[] { 0.5f, -1f, -1f }, new Shape(3))).ToArray<long>().Should().Equal(1L);
        Ops.ArgMax(Tensor.Scalar(4.0)).ToArray<long>().Should().Equal(0L);
        Ops.ArgMax(Ops.Zeros(new Shape(0, 3)), 1).Shape.Should().Be(new Shape(0));
    }

    [Test]
    public void ArgMax_of_other_dtypes([Values(DType.Float32, DType.Float16, DType.BFloat16, DType.Int64, DType.Int32, DType.Int8, DType.UInt8)] DType dtype)
    {
        using var s = TensorScope.Begin();
        var x = Ops.Cast(Tensor.FromArray(new[] { 4.0, 9, 1, 9, 1, 2 }, new Shape(2, 3)), dtype);
        Ops.ArgMax(x, 1).ToArray<long>().Should().Equal(1L, 0L);
        Ops.ArgMin(x, 0).ToArray<long>().Should().Equal(0L, 1L, 0L);
        Ops.ArgMin(x).ToArray<long>().Should().Equal(2L);
    }

    [Test]
    public void ArgMax_is_not_differentiable()
    {
        using var s = TensorScope.Begin();
        OpSet.ArgMax.IsDifferentiable.Should().BeFalse();
        OpSet.ArgMin.IsDifferentiable.Should().BeFalse();
        using var tape = Autograd.UseTape();
        var x = Tensor.FromArray(new[] { 1.0, 3.0, 2.0 }, new Shape(3));
        x.RequiresGrad = true;
        var i = Ops.ArgMax(x);
        i.RequiresGrad.Should().BeFalse();
    }

    [Test]
    public void ArgMax_errors()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Zeros(new Shape(2, 3));
        FluentActions.Invoking(() => Ops.ArgMax(x, 2)).Should().Throw<OpException>().WithMessage("argmax*axis 2 is out of range*");
        FluentActions.Invoking(() => Ops.ArgMin(x, -3)).Should().Throw<OpException>().WithMessage("argmin*out of range*");
        FluentActions.Invoking(() => Ops.ArgMax(Ops.Cast(x, DType.Bool))).Should().Throw<OpException>().WithMessage("argmax*bool*");
        FluentActions.Invoking(() => Ops.ArgMax(Ops.Zeros(new Shape(3, 0)), 1)).Should().Throw<OpException>().WithMessage("argmax*empty axis*");
        FluentActions.Invoking(() => Ops.ArgMin(Ops.Zeros(new Shape(0)))).Should().Throw<OpException>().WithMessage("argmin*empty tensor*");
        FluentActions.Invoking(() => Dispatcher.Apply(OpSet.ArgMax, new ArgReduceAttrs(-1, false), x)).Should().Throw<OpException>().WithMessage("*axis -1*");
    }
}
