using DualFramework.Fuzz;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Fuzz;

/// <summary>The harness itself: what it counts as a crash, a hang and an allocation over the bound.</summary>
[TestFixture]
public class FuzzRunnerTests
{
    private sealed class Fake(Func<byte[], long> load) : FuzzTarget
    {
        public override string Name => "fake";
        public override string Extension => ".bin";
        public override IEnumerable<byte[]> Seeds() => [[0, 0]];
        public override byte[] Generate(Random rng, int index) => [(byte)rng.Next(256), (byte)(index % 4)];
        public override long Load(byte[] input) => load(input);
        public override bool IsDocumented(Exception e) => e is InvalidDataException;
        public override long AllocationBound(byte[] input) => 1 << 20;
    }

    [Test]
    public void Runner_ClassifiesResultsDocumentedExceptionsCrashesHangsAndAllocations()
    {
        using var target = new Fake(input => input[1] switch
        {
            0 => 0,
            1 => throw new InvalidDataException("documented"),
            2 => throw new IndexOutOfRangeException("undocumented"),
            _ => new byte[2 << 20].Length,
        });
        var report = new FuzzRunner().Run(target, 8, seed: 5);
        report.Valid.Should().Be(2);
        report.Rejected.Should().Be(2);
        report.Crashes.Should().Be(4);
        report.Failures.Select(f => f.Index).Should().Equal(2, 3, 6, 7);
        report.Failures.Should().Contain(f => f.Detail.Contains("IndexOutOfRangeException")).And.Contain(f => f.Detail.Contains("over the bound"));
        report.MaxAllocBytes.Should().BeGreaterThan(2 << 20);
        report.ToJson().Should().StartWith("{\"loader\":\"fake\",\"inputs\":8,\"crashes\":4,\"hangs\":0,\"max_ms\":");
    }

    [Test]
    public void Runner_CountsALoadPastTheTimeBoundAsAHang()
    {
        using var gate = new ManualResetEventSlim();
        using var target = new Fake(_ =>
        {
            gate.Wait(TimeSpan.FromSeconds(30));
            return 0;
        });
        var report = new FuzzRunner { TimeBound = TimeSpan.FromMilliseconds(200) }.Run(target, 1, seed: 0);
        gate.Set();
        report.Hangs.Should().Be(1);
        report.Failures.Single().Outcome.Should().Be(Outcome.Hang);
    }

    [Test]
    public void Minimizer_ShrinksACrashToTheBytesThatCauseIt()
    {
        using var target = new Fake(input => input.Contains((byte)0x42) && input.Contains((byte)0x43) ? throw new IndexOutOfRangeException() : 0);
        var input = Enumerable.Range(0, 200).Select(i => (byte)(i == 50 ? 0x42 : i == 150 ? 0x43 : 0)).ToArray();
        Minimizer.Minimize(new FuzzRunner(), target, input).Should().Equal(0x42, 0x43);
    }

    [Test]
    public void Inputs_AreAFunctionOfSeedAndIndex()
    {
        var a = FuzzRunner.InputRandom(3, 17).Next();
        FuzzRunner.InputRandom(3, 17).Next().Should().Be(a);
        FuzzRunner.InputRandom(3, 18).Next().Should().NotBe(a);
    }
}
