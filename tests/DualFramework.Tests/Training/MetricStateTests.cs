using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Training;

/// <summary>Summable metric states: the sums of the states of two shards give the metric of the union.</summary>
[TestFixture]
public class MetricStateTests
{
    private sealed class Opaque : Metric
    {
        public override string Name => "opaque";
        public override void Reset() { }
        public override void Update(Tensor prediction, Tensor target) { }
        public override double Result => 0;
    }

    [Test]
    public void SummedShardStates_GiveTheMetricOfTheWholeBatch()
    {
        using var s = TensorScope.Begin();
        // Scores for 4 samples over 3 classes; targets 0, 2, 1, 1. Top-1 hits: samples 0 and 2; top-2 hits: 0, 2, 3.
        var scores = Tensor.FromArray(new float[] { 3, 1, 0, 2, 1, 0, 0, 5, 1, 2, 1, 0 }, new Shape(4, 3));
        var targets = Tensor.FromArray(new long[] { 0, 2, 1, 1 });
        foreach (var (make, expected) in new (Func<Metric>, double)[] { (() => new Accuracy(), 0.5), (() => new TopKAccuracy(2), 0.75) })
        {
            var a = make();
            var b = make();
            a.Update(Ops.Slice(scores, 0, 0, 2), Ops.Slice(targets, 0, 0, 2));
            b.Update(Ops.Slice(scores, 0, 2, 4), Ops.Slice(targets, 0, 2, 4));
            var sum = a.GetSummableState().Zip(b.GetSummableState(), (x, y) => x + y).ToArray();
            var union = make();
            union.SetSummableState(sum);
            union.Result.Should().Be(expected, union.Name);
        }
        var loss = new MeanValue("loss");
        loss.SetSummableState([6.0, 4]);
        loss.Result.Should().Be(1.5);
        ((Action)(() => loss.SetSummableState([1.0]))).Should().Throw<ArgumentException>().WithMessage("*2 state values*");
        ((Action)(() => new Opaque().GetSummableState())).Should().Throw<NotSupportedException>().WithMessage("*opaque*");
    }
}
