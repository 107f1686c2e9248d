using DualFramework.Data;
using DualFramework.Distributed;
using DualFramework.NN;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Distributed;

[TestFixture]
public class ShardingTests
{
    private static Batch MakeBatch(int n) =>
        new(Enumerable.Range(0, n * 2).Select(i => (float)i).ToArray(), new Shape(n, 2), Enumerable.Range(0, n).Select(i => (long)i).ToArray());

    [Test]
    public void TrainingShards_AreContiguousAndEqual_PaddingByWrappingAround()
    {
        var b = MakeBatch(5);
        var s0 = ShardedBatches.Shard(b, 0, 2, pad: true)!;
        var s1 = ShardedBatches.Shard(b, 1, 2, pad: true)!;
        s0.Labels.Should().Equal(0, 1, 2);
        s1.Labels.Should().Equal(3, 4, 0);
        s1.Features.Should().Equal(6, 7, 8, 9, 0, 1);
        s1.FeatureShape.Should().Be(new Shape(3, 2));
    }

    [Test]
    public void EvaluationShards_CoverEveryExampleOnce_AndSkipEmptyShards()
    {
        var b = MakeBatch(5);
        var parts = Enumerable.Range(0, 4).Select(r => ShardedBatches.Shard(b, r, 4, pad: false)).ToArray();
        parts[0]!.Labels.Should().Equal(0, 1);
        parts[1]!.Labels.Should().Equal(2, 3);
        parts[2]!.Labels.Should().Equal(4);
        parts[3].Should().BeNull();
        var ds = new ShardedBatches(Dataset.FromList(new[] { b, MakeBatch(1) }), 3, 4, pad: false);
        ds.ToList().Should().BeEmpty();
    }

    [Test]
    public void Buckets_FollowReverseOrder_RespectTheBudget_AndSplitByDType()
    {
        using var scope = TensorScope.Begin();
        var vars = new[]
        {
            new Variable(Ops.Zeros(new Shape(10), DType.Float32), true, "a"),  // 40 B
            new Variable(Ops.Zeros(new Shape(10), DType.Float32), true, "b"),  // 40 B
            new Variable(Ops.Zeros(new Shape(30), DType.Float32), true, "c"),  // 120 B: over budget alone
            new Variable(Ops.Zeros(new Shape(5), DType.Float64), true, "d"),   // 40 B, another dtype
        };
        var plan = new GradientBuckets(vars, 100);
        plan.Buckets.Select(b => b.Members).Should().BeEquivalentTo(new[] { new[] { 3 }, new[] { 2 }, new[] { 1, 0 } }, o => o.WithStrictOrdering());
        plan.Buckets.Select(b => b.Buffer.Length).Should().Equal(40, 120, 80);
        plan.Buckets[2].Offsets.Should().Equal(0, 40);
        plan.Buckets[0].DType.Should().Be(DType.Float64);
        foreach (var v in vars) v.Dispose();
    }
}
