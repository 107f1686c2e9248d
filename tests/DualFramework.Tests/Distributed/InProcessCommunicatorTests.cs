using System.Diagnostics;
using DualFramework.Distributed;
using DualFramework.DistributedWorker;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Distributed;

[TestFixture]
public class InProcessCommunicatorTests
{
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void EveryCollective_MatchesIndependentlyComputedResults(int ranks)
    {
        // CollectiveChecks throws on any difference; Run rethrows it.
        var ok = InProcessGroup.Run(ranks, c => { CollectiveChecks.Run(c); return c.Rank; });
        ok.Should().Equal(Enumerable.Range(0, ranks));
    }

    [Test]
    public void AllReduce_GivesBitIdenticalResultsOnEveryRank()
    {
        // Values that round differently depending on summation order.
        var results = InProcessGroup.Run(3, c =>
        {
            var rng = new DualFramework.NN.SeededRandom(c.Rank + 1);
            var v = new float[513];
            for (int i = 0; i < v.Length; i++) v[i] = (float)rng.Uniform(-1e3, 1e3) * (float)Math.Pow(10, rng.Uniform(-6, 6));
            c.AllReduce(v.AsSpan(), ReduceOp.Mean);
            return v;
        });
        results[1].Should().Equal(results[0]);
        results[2].Should().Equal(results[0]);
    }

    [Test]
    public void MismatchedCollectives_FailOnEveryRankWithAClearError()
    {
        var act = () => InProcessGroup.Run(2, c =>
        {
            var b = new float[4];
            if (c.Rank == 0) c.AllReduce(b.AsSpan());
            else c.Broadcast(System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.AsSpan()), 0);
        }, TimeSpan.FromSeconds(30));
        act.Should().Throw<CommunicatorException>().WithMessage("*mismatched collectives*called Broadcast*called AllReduce*");
    }

    [Test]
    public void MismatchedLengths_AreReported()
    {
        var act = () => InProcessGroup.Run(2, c => c.AllReduce(new float[c.Rank == 0 ? 4 : 5].AsSpan()), TimeSpan.FromSeconds(30));
        act.Should().Throw<CommunicatorException>().WithMessage("*rank 1 passed 20 bytes, rank 0 16*");
    }

    [Test]
    public void AFailingReplica_ReleasesItsPeersAtOnce_AndIsReportedByRank()
    {
        var sw = Stopwatch.StartNew();
        string? peerError = null;
        var act = () => InProcessGroup.Run(2, c =>
        {
            if (c.Rank == 1) throw new InvalidOperationException("boom on rank 1");
            try
            {
                c.Barrier(); // would wait forever (timeout 10 min) without the failure propagating
            }
            catch (CommunicatorException e)
            {
                peerError = e.Message;
                throw;
            }
        }, TimeSpan.FromMinutes(10));
        act.Should().Throw<CommunicatorException>().WithMessage("*replica 1*boom on rank 1*")
            .WithInnerException<InvalidOperationException>();
        peerError.Should().Contain("aborted").And.Contain("replica 1 failed");
        sw.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(60));
    }

    [Test]
    public void AReplicaThatStopsCallingCollectives_MakesThePeersTimeOut()
    {
        var sw = Stopwatch.StartNew();
        var act = () => InProcessGroup.Run(2, c =>
        {
            if (c.Rank == 1) return; // never joins the all-reduce
            c.AllReduce(new float[3].AsSpan());
        }, TimeSpan.FromMilliseconds(300));
        act.Should().Throw<CommunicatorException>().WithMessage("*timed out after 0.3 s*");
        sw.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(60));
    }

    [Test]
    public void BadArguments_AreRejectedBeforeAnyExchange()
    {
        using var group = new InProcessGroup(2);
        var c = group[0];
        ((Action)(() => c.AllReduce(new byte[8], DType.Int64, ReduceOp.Sum))).Should().Throw<ArgumentException>().WithMessage("*floating dtype*int64*");
        ((Action)(() => c.AllReduce(new byte[6], DType.Float32, ReduceOp.Sum))).Should().Throw<ArgumentException>().WithMessage("*6 bytes*");
        ((Action)(() => c.AllGather(new byte[2], new byte[3]))).Should().Throw<ArgumentException>().WithMessage("*4 bytes*");
        ((Action)(() => c.Broadcast(new byte[2], 2))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Test]
    public void ReduceMath_RoundsHalfPrecisionOnce()
    {
        // 1 and 2^-11 sum to 1 + 2^-11 in float32, halfway between two float16 values: one final rounding (ties to even)
        // must give what .NET's own conversion of the exact sum gives.
        var results = InProcessGroup.Run(2, c =>
        {
            var v = new[] { c.Rank == 0 ? (Half)1 : (Half)Math.Pow(2, -11), (Half)0.5 };
            c.AllReduce(v.AsSpan(), ReduceOp.Sum);
            return v;
        });
        results[0][0].Should().Be((Half)(float)(1 + Math.Pow(2, -11)));
        results[0][1].Should().Be((Half)1);
    }

    [Test]
    public void BackToBackCollectives_StayInStep()
    {
        // A rank leaving a barrier early must not publish its next collective while a slower peer still checks this one.
        var sums = InProcessGroup.Run(3, c =>
        {
            double total = 0;
            for (int i = 0; i < 2000; i++)
            {
                c.Barrier();
                if (i % 7 == c.Rank) Thread.SpinWait(2000); // uneven pace
                Span<double> v = [c.Rank + i];
                c.AllReduce(v, ReduceOp.Sum);
                total += v[0];
            }
            return total;
        }, TimeSpan.FromMinutes(2));
        // Σ_i Σ_r (r + i) = 2000·3 + 3·Σ_i i
        double expected = 2000 * 3 + 3 * (1999.0 * 2000 / 2);
        sums.Should().AllSatisfy(s => s.Should().Be(expected));
    }
}
