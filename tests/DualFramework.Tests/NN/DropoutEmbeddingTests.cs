using DualFramework.NN;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.NN;


[TestFixture]
public class DropoutEmbeddingTests
{
    [Test]
    public void Dropout_scales_kept_elements_in_training_and_is_the_identity_in_eval()
    {
        using var s = TensorScope.Begin();
        using var drop = new Dropout(0.25, new SeededRandom(1));
        var xd = NNRef.RandF(2, 4000, 0.5, 1.5);
        var x = Tensor.FromArray(xd, new Shape(40, 100));
        var y = drop.Call(x).ToFloatArray();
        int zeros = 0;
        for (int i = 0; i < y.Length; i++)
        {
            if (y[i] == 0) zeros++;
            else y[i].Should().BeApproximately(xd[i] / 0.75f, 1e-6f);
        }
        // Binomial(4000, 0.25): sd ≈ 27; 6 sd keeps false failures negligible.
        zeros.Should().BeInRange(1000 - 165, 1000 + 165);
        drop.Generator.Draws.Should().Be(1);

        drop.Eval();
        drop.Call(x).Should().BeSameAs(x, "evaluation mode is the identity");
        drop.Generator.Draws.Should().Be(1, "evaluation draws no seed");
        drop.Train();
        new Dropout(0).Call(x).Should().BeSameAs(x);
        new Dropout(1).Call(x).ToFloatArray().Should().OnlyContain(v => v == 0);
    }

    [Test]
    public void Dropout_masks_are_reproducible_from_the_layer_seed()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Ones(new Shape(256));
        using var a = new Dropout(0.5, new SeededRandom(42));
        using var b = new Dropout(0.5, new SeededRandom(42));
        using var c = new Dropout(0.5, new SeededRandom(43));
        var a1 = a.Call(x).ToFloatArray();
        var a2 = a.Call(x).ToFloatArray();
        b.Call(x).ToFloatArray().Should().Equal(a1, "same seed, same first mask");
        b.Call(x).ToFloatArray().Should().Equal(a2, "same seed, same second mask");
        a2.Should().NotEqual(a1, "each call draws a new mask");
        c.Call(x).ToFloatArray().Should().NotEqual(a1, "another seed gives another mask");
        a1.Should().OnlyContain(v => v == 0 || v == 2);
    }

    [Test]
    public void Dropout_rejects_bad_arguments()
    {
        using var s = TensorScope.Begin();
        FluentActions.Invoking(() => new Dropout(1.5)).Should().Throw<ArgumentException>().WithMessage("*Dropout*p must be in [0, 1]*");
        FluentActions.Invoking(() => new Dropout(-0.1)).Should().Throw<ArgumentException>().WithMessage("*Dropout*");
        FluentActions.Invoking(() => new Dropout(0.5).Call(Tensor.FromArray(new long[] { 1, 2 }))).Should().Throw<OpException>()
            .WithMessage("*Dropout*floating*");
    }

    [Test]
    public void Embedding_looks_up_rows_and_initialises_standard_normal()
    {
        using var s = TensorScope.Begin();
        using var emb = new Embedding(10, 3, new SeededRandom(5));
        emb.StateDict().Select(kv => (kv.Key, kv.Value.Shape)).Should().Equal(("weight", new Shape(10, 3)));
        var w = emb.Weight.Value.ToFloatArray();
        var ids = Tensor.FromArray(new long[] { 3, 0, 9, 3, 7, 1 }, new Shape(2, 3));
        var y = emb.Call(ids);
        y.Shape.Should().Be(new Shape(2, 3, 3));
        var expected = new long[] { 3, 0, 9, 3, 7, 1 }.SelectMany(i => w.Skip((int)i * 3).Take(3)).ToArray();
        y.ToFloatArray().Should().Equal(expected);
        emb.Call(Tensor.FromArray(new int[] { 2 })).ToFloatArray().Should().Equal(w[6..9], "int32 ids");

        // Independent replay of the documented draws: N(0, 1) in row-major order.
        var r = new SeededRandom(5);
        w.Should().Equal(Enumerable.Range(0, 30).Select(_ => (float)r.Normal()));
        using var bigEmb = new Embedding(200, 50, new SeededRandom(6));
        var big = bigEmb.Weight.Value.ToDoubleArray();
        double mean = big.Average(), sd = Math.Sqrt(big.Sum(v => (v - mean) * (v - mean)) / big.Length);
        mean.Should().BeApproximately(0, 0.05);
        sd.Should().BeApproximately(1, 0.05);
    }

    [Test]
    public void Embedding_rejects_bad_arguments_and_ids()
    {
        using var s = TensorScope.Begin();
        FluentActions.Invoking(() => new Embedding(0, 3)).Should().Throw<ArgumentException>().WithMessage("*Embedding*num_embeddings*");
        using var emb = new Embedding(4, 2);
        FluentActions.Invoking(() => emb.Call(Ops.Ones(new Shape(2)))).Should().Throw<OpException>().WithMessage("*Embedding*integer ids*");
        FluentActions.Invoking(() => emb.Call(Tensor.FromArray(new long[] { 4 }))).Should().Throw<OpException>()
            .Where(e => e.LayerPath == "Embedding");
    }
}
