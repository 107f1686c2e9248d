using DualFramework.Data;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Data;

[TestFixture]
public class DatasetTests
{
    private static List<T> All<T>(Dataset<T> ds, long epoch = 0) => ds.WithEpoch(epoch).ToList();

    // 2x3 features per example; example i holds values 100*i + j so views are easy to check.
    private static (float[] Features, long[] Labels) Block(int n)
    {
        var f = new float[n * 6];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < 6; j++) f[i * 6 + j] = 100 * i + j;
        var l = new long[n];
        for (int i = 0; i < n; i++) l[i] = i % 10;
        return (f, l);
    }

    [Test]
    public void FromArrays_yields_views_with_shape_and_labels()
    {
        var (f, l) = Block(4);
        var ds = Dataset.FromArrays(f, [2, 3], l);
        ds.Cardinality.Should().Be(4);
        var items = All(ds);
        items.Should().HaveCount(4);
        for (int i = 0; i < 4; i++)
        {
            items[i].Shape.Should().Be(new Shape(2, 3));
            items[i].Label.Should().Be(i);
            items[i].Features.ToArray().Should().Equal(Enumerable.Range(0, 6).Select(j => (float)(100 * i + j)));
        }
    }

    [Test]
    public void FromArrays_of_bytes_scales_each_example()
    {
        byte[] px = [0, 255, 51, 102];
        var items = All(Dataset.FromArrays(px, [2], [7, 8]));
        items[0].Features.ToArray().Should().Equal(0f, 1f);
        items[1].Features.ToArray().Should().Equal(0.2f, 0.4f);
        items[1].Label.Should().Be(8);
        All(Dataset.FromArrays(px, [1], [1, 2, 3, 4], divisor: 0.5f)).Select(e => e.Features.Span[0]).Should().Equal(0f, 510f, 102f, 204f);
        ((Action)(() => Dataset.FromArrays(px, [1], [1, 2, 3, 4], divisor: 0f))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Test]
    public void FromArrays_rejects_lengths_that_disagree()
    {
        var act = () => Dataset.FromArrays(new float[10], [2, 3], [0, 1]);
        act.Should().Throw<ArgumentException>().WithMessage("*2 labels*[2, 3]*10*");
        var neg = () => Dataset.FromArrays(new float[0], [-1], []);
        neg.Should().Throw<ArgumentException>().WithParameterName("exampleShape");
        var bytes = () => Dataset.FromArrays(new byte[5], [2], [0, 1]);
        bytes.Should().Throw<ArgumentException>();
    }

    [Test]
    public void Sources_start_a_fresh_pass_every_time()
    {
        var list = Dataset.FromList(new[] { "a", "b", "c" });
        All(list).Should().Equal("a", "b", "c");
        All(list).Should().Equal("a", "b", "c");
        list.Cardinality.Should().Be(3);

        All(Dataset.Range(5)).Should().Equal(0L, 1, 2, 3, 4);
        Dataset.Range(5).Cardinality.Should().Be(5);

        int calls = 0;
        var gen = Dataset.FromGenerator(() => { calls++; return Enumerable.Range(0, 3); });
        gen.Cardinality.Should().Be(Dataset.UnknownCardinality);
        All(gen).Should().Equal(0, 1, 2);
        All(gen).Should().Equal(0, 1, 2);
        calls.Should().Be(2);

        var perEpoch = Dataset.FromGenerator(e => Enumerable.Repeat(e, 2));
        All(perEpoch, 3).Should().Equal(3L, 3L);
        perEpoch.ToList().Should().Equal(new[] { 0L, 0L }, "plain enumeration is epoch 0");
    }

    [Test]
    public void Full_shuffle_is_a_seeded_permutation_that_changes_per_epoch()
    {
        var a = All(Dataset.Range(1000).Shuffle(seed: 42));
        var b = All(Dataset.Range(1000).Shuffle(seed: 42)); // a separately built pipeline
        a.Should().Equal(b);
        a.Order().Should().Equal(Enumerable.Range(0, 1000).Select(i => (long)i));
        a.Should().NotEqual(Enumerable.Range(0, 1000).Select(i => (long)i));

        var e1 = All(Dataset.Range(1000).Shuffle(seed: 42), epoch: 1);
        e1.Should().NotEqual(a, "each epoch reshuffles");
        e1.Order().Should().Equal(a.Order());
        All(Dataset.Range(1000).Shuffle(seed: 42), epoch: 1).Should().Equal(e1, "an epoch's order is reproducible");
        All(Dataset.Range(1000).Shuffle(seed: 43)).Should().NotEqual(a);
        Dataset.Range(1000).Shuffle(42).Cardinality.Should().Be(1000);
    }

    [Test]
    public void Full_shuffle_is_roughly_uniform()
    {
        // Position of item 0 over 2000 epochs of a 4-item shuffle: each of 4 positions expected 500 times.
        var ds = Dataset.Range(4).Shuffle(seed: 7);
        var counts = new int[4];
        for (int e = 0; e < 2000; e++) counts[All(ds, e).IndexOf(0)]++;
        counts.Should().OnlyContain(c => c > 400 && c < 600, $"counts were {string.Join(",", counts)}");
    }

    [Test]
    public void Buffered_shuffle_only_mixes_within_the_buffer()
    {
        All(Dataset.Range(50).Shuffle(bufferSize: 1, seed: 3)).Should().Equal(Enumerable.Range(0, 50).Select(i => (long)i));
        const int k = 8;
        for (int e = 0; e < 5; e++)
        {
            var order = All(Dataset.Range(200).Shuffle(k, seed: 3), e);
            order.Order().Should().Equal(Enumerable.Range(0, 200).Select(i => (long)i));
            // Output p is drawn from a buffer that has seen inputs 0 .. p+k-1 only.
            for (int p = 0; p < order.Count; p++) order[p].Should().BeLessThan(p + k);
            order.Should().NotEqual(Enumerable.Range(0, 200).Select(i => (long)i));
        }
    }

    [Test]
    public void Map_preserves_order_under_parallelism_with_random_delays()
    {
        int inFlight = 0, maxInFlight = 0;
        var ds = Dataset.Range(200).Map((x, ctx) =>
        {
            int now = Interlocked.Increment(ref inFlight);
            int seen;
            while ((seen = Volatile.Read(ref maxInFlight)) < now && Interlocked.CompareExchange(ref maxInFlight, now, seen) != seen) { }
            Thread.Sleep((int)ctx.CreateRandom(5).NextInt64(3));
            Interlocked.Decrement(ref inFlight);
            return x * x;
        }, parallelism: 6);
        All(ds).Should().Equal(Enumerable.Range(0, 200).Select(i => (long)i * i));
        maxInFlight.Should().BeLessThanOrEqualTo(6, "at most `parallelism` calls are in flight");
        ds.Cardinality.Should().Be(200);
    }

    [TestCase(1)]
    [TestCase(4)]
    public void Map_failure_names_the_item_and_keeps_earlier_items(int parallelism)
    {
        var ds = Dataset.Range(50).Map(x => x == 17 ? throw new FormatException("bad item") : x, parallelism);
        var got = new List<long>();
        var act = () =>
        {
            foreach (var x in ds.WithEpoch(3)) got.Add(x);
        };
        var ex = act.Should().Throw<DataPipelineException>().WithMessage("*item 17*epoch 3*bad item*").Which;
        ex.ItemIndex.Should().Be(17);
        ex.Epoch.Should().Be(3);
        ex.InnerException.Should().BeOfType<FormatException>();
        got.Should().Equal(Enumerable.Range(0, 17).Select(i => (long)i));
    }

    [Test]
    public void Map_disposal_waits_for_started_calls()
    {
        int calls = 0;
        var ds = Dataset.Range(1000).Map(x => { Thread.Sleep(2); Interlocked.Increment(ref calls); return x; }, parallelism: 4);
        using (var e = ds.GetEnumerator())
            for (int i = 0; i < 10; i++) e.MoveNext().Should().BeTrue();
        int after = Volatile.Read(ref calls);
        after.Should().BeLessThanOrEqualTo(10 + 4);
        Thread.Sleep(30);
        Volatile.Read(ref calls).Should().Be(after, "no call runs after disposal");
    }

    [Test]
    public void Map_context_random_is_independent_of_parallelism()
    {
        Dataset<double> Aug(int p) => Dataset.Range(64).Map((x, c) => x + c.CreateRandom(9).NextDouble(), p);
        All(Aug(1), 2).Should().Equal(All(Aug(5), 2));
        All(Aug(1), 2).Should().NotEqual(All(Aug(1), 3));
    }

    [Test]
    public void Batch_stacks_examples_and_handles_the_remainder()
    {
        var (f, l) = Block(10);
        var ds = Dataset.FromArrays(f, [2, 3], l);

        var batches = All(ds.Batch(4));
        batches.Select(b => b.Size).Should().Equal(4, 4, 2);
        batches[0].FeatureShape.Should().Be(new Shape(4, 2, 3));
        batches[2].FeatureShape.Should().Be(new Shape(2, 2, 3));
        batches[1].Labels.Should().Equal(4L, 5, 6, 7);
        batches[2].Features.Should().Equal(f.Skip(8 * 6));
        batches.SelectMany(b => b.Features).Should().Equal(f);
        ds.Batch(4).Cardinality.Should().Be(3);

        var dropped = All(ds.Batch(4, dropLast: true));
        dropped.Select(b => b.Size).Should().Equal(4, 4);
        ds.Batch(4, dropLast: true).Cardinality.Should().Be(2);

        All(ds.Batch(5, dropLast: true)).Should().HaveCount(2, "an exact multiple drops nothing");
        All(ds.Take(0).Batch(3)).Should().BeEmpty();
    }

    [Test]
    public void Batch_rejects_mixed_shapes_with_the_item_index()
    {
        var items = new[]
        {
            new Example(new float[] { 1, 2 }, new Shape(2), 0),
            new Example(new float[] { 3, 4 }, new Shape(2), 1),
            new Example(new float[] { 5, 6, 7 }, new Shape(3), 2),
        };
        var act = () => All(Dataset.FromList(items).Batch(3));
        act.Should().Throw<DataPipelineException>().WithMessage("*item 2*[3]*[2]*").Which.ItemIndex.Should().Be(2);
        var bad = () => new Example(new float[3], new Shape(2, 2), 0);
        bad.Should().Throw<ArgumentException>();
    }

    [Test]
    public void Batch_to_tensors_copies_features_and_labels()
    {
        using var s = TensorScope.Begin();
        var (f, l) = Block(3);
        var batch = All(Dataset.FromArrays(f, [2, 3], l).Batch(3))[0];
        var (x, y) = batch.ToTensors();
        x.Shape.Should().Be(new Shape(3, 2, 3));
        x.DType.Should().Be(DType.Float32);
        x.ToArray<float>().Should().Equal(f);
        y.Shape.Should().Be(new Shape(3));
        y.DType.Should().Be(DType.Int64);
        y.ToArray<long>().Should().Equal(0L, 1, 2);
    }

    [Test]
    public void Chunk_groups_any_items()
    {
        All(Dataset.Range(7).Chunk(3)).Select(c => string.Join(",", c)).Should().Equal("0,1,2", "3,4,5", "6");
        All(Dataset.Range(7).Chunk(3, dropLast: true)).Should().HaveCount(2);
        Dataset.Range(7).Chunk(3).Cardinality.Should().Be(3);
    }

    [Test]
    public void Take_skip_and_repeat()
    {
        var r = Dataset.Range(10);
        All(r.Take(3)).Should().Equal(0L, 1, 2);
        All(r.Take(0)).Should().BeEmpty();
        All(r.Take(99)).Should().HaveCount(10);
        All(r.Skip(7)).Should().Equal(7L, 8, 9);
        All(r.Skip(10)).Should().BeEmpty();
        All(r.Skip(99)).Should().BeEmpty();
        All(r.Skip(2).Take(3)).Should().Equal(2L, 3, 4);
        All(r.Repeat(2)).Should().Equal(Enumerable.Range(0, 10).Concat(Enumerable.Range(0, 10)).Select(i => (long)i));
        All(r.Repeat(0)).Should().BeEmpty();
        All(r.Repeat().Take(25)).Should().HaveCount(25);
        All(Dataset.Range(0).Repeat()).Should().BeEmpty("an endless repeat of nothing ends");

        r.Take(3).Cardinality.Should().Be(3);
        r.Skip(4).Cardinality.Should().Be(6);
        r.Skip(40).Cardinality.Should().Be(0);
        r.Repeat(3).Cardinality.Should().Be(30);
        r.Repeat().Cardinality.Should().Be(Dataset.InfiniteCardinality);
        r.Repeat().Take(5).Cardinality.Should().Be(5);
        r.Repeat().Skip(5).Cardinality.Should().Be(Dataset.InfiniteCardinality);
        Dataset.FromGenerator(() => new[] { 1 }).Take(2).Cardinality.Should().Be(Dataset.UnknownCardinality);
    }

    [Test]
    public void Repeat_of_a_shuffle_concatenates_consecutive_epochs()
    {
        var sh = Dataset.Range(20).Shuffle(seed: 11);
        All(sh.Repeat(3)).Should().Equal(All(sh, 0).Concat(All(sh, 1)).Concat(All(sh, 2)));
        All(sh.Repeat(3), epoch: 1).Should().Equal(All(sh, 3).Concat(All(sh, 4)).Concat(All(sh, 5)));
        All(sh.Repeat().Take(40)).Should().Equal(All(sh, 0).Concat(All(sh, 1)));
    }

    [Test]
    public void Resuming_at_an_epoch_with_skip_matches_an_uninterrupted_run()
    {
        var (f, l) = Block(50);
        Dataset<Batch> Pipeline() => Dataset.FromArrays(f, [2, 3], l)
            .Shuffle(bufferSize: 20, seed: 123)
            .Map((e, c) =>
            {
                // A random augmentation: add noise derived from the item's context.
                var rng = c.CreateRandom(77);
                var x = e.Features.ToArray();
                for (int i = 0; i < x.Length; i++) x[i] += (float)rng.Normal();
                return e.WithFeatures(x);
            }, parallelism: 3)
            .Batch(8)
            .Prefetch(2);

        var full = Pipeline();
        var uninterrupted = new List<Batch>();
        for (int epoch = 0; epoch < 3; epoch++) uninterrupted.AddRange(All(full, epoch));

        // "Crash" after 2 batches of epoch 1; a new process rebuilds the pipeline and resumes.
        var resumed = new List<Batch>();
        resumed.AddRange(All(Pipeline(), 0));
        resumed.AddRange(All(Pipeline(), 1).Take(2));
        resumed.AddRange(All(Pipeline().Skip(2), 1));
        resumed.AddRange(All(Pipeline(), 2));

        resumed.Should().HaveCount(uninterrupted.Count);
        for (int i = 0; i < resumed.Count; i++)
        {
            resumed[i].Features.Should().Equal(uninterrupted[i].Features);
            resumed[i].Labels.Should().Equal(uninterrupted[i].Labels);
        }
        All(full, 0)[0].Features.Should().NotEqual(All(full, 1)[0].Features);
    }

    [Test]
    public void Files_are_listed_in_ordinal_order_and_loaded_lazily()
    {
        var dir = Directory.CreateTempSubdirectory("df-data-").FullName;
        try
        {
            foreach (var name in new[] { "b.txt", "a.txt", "C.txt", "skip.bin" }) File.WriteAllText(Path.Combine(dir, name), name.ToUpperInvariant());
            var files = Dataset.ListFiles(dir, "*.txt");
            All(files).Select(Path.GetFileName).Should().Equal("C.txt", "a.txt", "b.txt");

            int loads = 0;
            var ds = Dataset.FromFiles(All(files), p => { Interlocked.Increment(ref loads); return File.ReadAllText(p); }, parallelism: 2);
            loads.Should().Be(0, "nothing is read before enumeration");
            All(ds).Should().Equal("C.TXT", "A.TXT", "B.TXT");
            var missing = () => Dataset.ListFiles(Path.Combine(dir, "nope"));
            missing.Should().Throw<DirectoryNotFoundException>().WithMessage("*nope*");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Arguments_are_validated()
    {
        var r = Dataset.Range(3);
        ((Action)(() => r.Shuffle(0, 1))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => r.Map(x => x, 0))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => r.Prefetch(0))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => r.Take(-1))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => r.Skip(-1))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => r.Repeat(-2))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => r.Chunk(0))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => Dataset.FromArrays(new float[2], [1], [0, 1]).Batch(0))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => Dataset.Range(-1))).Should().Throw<ArgumentOutOfRangeException>();
    }
}
