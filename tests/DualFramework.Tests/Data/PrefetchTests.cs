using DualFramework.Data;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Data;

[TestFixture]
public class PrefetchTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    // Runs the body on another thread so a deadlock fails the test instead of hanging the run.
    private static void WithinTimeout(Action body)
    {
        var task = Task.Run(body);
        task.Wait(Timeout).Should().BeTrue("the pipeline must not hang");
        task.GetAwaiter().GetResult();
    }

    [Test]
    public void Prefetch_keeps_items_and_order()
    {
        WithinTimeout(() =>
        {
            var sh = Dataset.Range(300).Shuffle(seed: 5);
            for (int e = 0; e < 3; e++) sh.Prefetch(3).WithEpoch(e).Should().Equal(sh.WithEpoch(e));
            sh.Prefetch(3).Cardinality.Should().Be(300);
        });
    }

    [TestCase(1)]
    [TestCase(4)]
    public void Producer_never_runs_more_than_the_buffer_ahead(int bufferSize)
    {
        WithinTimeout(() =>
        {
            long produced = 0;
            var ds = Dataset.FromGenerator(() => Count(100, () => Interlocked.Increment(ref produced))).Prefetch(bufferSize);
            long consumed = 0, maxAhead = 0;
            using var e = ds.GetEnumerator();
            while (e.MoveNext())
            {
                consumed++;
                Thread.Sleep(consumed < 5 ? 20 : 0); // a slow consumer lets the producer run as far ahead as it may
                long ahead = Interlocked.Read(ref produced) - consumed;
                ahead.Should().BeLessThanOrEqualTo(bufferSize);
                maxAhead = Math.Max(maxAhead, ahead);
            }
            consumed.Should().Be(100);
            maxAhead.Should().Be(bufferSize, "a slow consumer should find the buffer full");
        });
    }

    private static IEnumerable<int> Count(int n, Action onProduce)
    {
        for (int i = 0; i < n; i++)
        {
            onProduce();
            yield return i;
        }
    }

    [Test]
    public void Producer_exception_is_rethrown_on_the_consumer_after_earlier_items()
    {
        WithinTimeout(() =>
        {
            static IEnumerable<int> Failing()
            {
                for (int i = 0; i < 5; i++) yield return i;
                throw new InvalidOperationException("disk on fire");
            }
            var got = new List<int>();
            var act = () =>
            {
                foreach (var x in Dataset.FromGenerator(Failing).Prefetch(2)) got.Add(x);
            };
            act.Should().Throw<InvalidOperationException>().WithMessage("disk on fire")
                .Which.StackTrace.Should().Contain("Failing", "the original stack is kept");
            got.Should().Equal(0, 1, 2, 3, 4);
        });
    }

    [Test]
    public void Map_failure_passes_through_prefetch_unchanged()
    {
        WithinTimeout(() =>
        {
            var ds = Dataset.Range(20).Map(x => x == 9 ? throw new ArithmeticException("nine") : x, 3).Prefetch(4);
            var act = () => ds.ToList();
            act.Should().Throw<DataPipelineException>().Which.ItemIndex.Should().Be(9);
        });
    }

    [Test]
    public void Early_disposal_stops_the_producer_and_disposes_upstream()
    {
        WithinTimeout(() =>
        {
            long produced = 0;
            bool upstreamDisposed = false;
            IEnumerable<long> Endless()
            {
                try
                {
                    for (long i = 0; ; i++)
                    {
                        Interlocked.Increment(ref produced);
                        yield return i;
                    }
                }
                finally
                {
                    Volatile.Write(ref upstreamDisposed, true);
                }
            }
            var ds = Dataset.FromGenerator(Endless).Map(x => x * 2, parallelism: 2).Prefetch(3);
            using (var e = ds.GetEnumerator())
            {
                for (int i = 0; i < 3; i++)
                {
                    e.MoveNext().Should().BeTrue();
                    e.Current.Should().Be(2 * i);
                }
            }
            Volatile.Read(ref upstreamDisposed).Should().BeTrue("disposal waits for the producer, which disposes upstream");
            long after = Interlocked.Read(ref produced);
            Thread.Sleep(50);
            Interlocked.Read(ref produced).Should().Be(after, "the producer has stopped");
        });
    }

    [Test]
    public void Disposal_while_upstream_is_slow_returns_promptly()
    {
        WithinTimeout(() =>
        {
            var ds = Dataset.Range(1_000_000).Map(x => { Thread.Sleep(100); return x; }).Prefetch(2);
            var e = ds.GetEnumerator();
            e.MoveNext().Should().BeTrue();
            var sw = System.Diagnostics.Stopwatch.StartNew();
            e.Dispose();
            sw.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2), "only the item in progress is awaited");
            e.MoveNext().Should().BeFalse();
        });
    }

    [Test]
    public void Enumerator_that_never_started_disposes_cleanly()
    {
        WithinTimeout(() =>
        {
            bool started = false;
            var ds = Dataset.FromGenerator(() => { started = true; return new[] { 1 }; }).Prefetch(1);
            ds.GetEnumerator().Dispose();
            started.Should().BeFalse("the producer starts at the first MoveNext");
        });
    }
}
