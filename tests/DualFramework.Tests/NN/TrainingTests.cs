using DualFramework.Autodiff;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.NN;


[TestFixture]
public class TrainingTests
{
    [Test]
    public void Tiny_mlp_overfits_one_fixed_batch_with_sgd()
    {
        using var s = TensorScope.Begin();
        using var model = new Sequential(new Linear(8, 32, rng: new SeededRandom(1)), new ReLU(), new Linear(32, 4, rng: new SeededRandom(2)));
        var x = Tensor.FromArray(NNRef.RandF(3, 16 * 8, -2, 2), new Shape(16, 8));
        var labels = Enumerable.Range(0, 16).Select(i => (long)(i % 4)).ToArray();
        var y = Tensor.FromArray(labels, new Shape(16));
        using var opt = new Sgd(model.Parameters(), 0.1, momentum: 0.9);
        double first = double.NaN, loss = double.NaN;
        int step;
        for (step = 0; step < 400; step++)
        {
            using var it = TensorScope.Begin();
            opt.ZeroGrad();
            var l = LossFunctions.CrossEntropy(model.Call(x), y);
            loss = l.Item();
            if (step == 0) first = loss;
            if (loss < 0.05) break;
            l.Backward();
            opt.Step();
        }
        first.Should().BeGreaterThan(1.0);
        loss.Should().BeLessThan(0.05, $"after {step} steps (started at {first})");
        var predicted = Ops.ArgMax(model.Call(x), 1).ToArray<long>();
        predicted.Should().Equal(labels);
    }

    [Test]
    public void Manual_update_loop_with_autograd_grad_on_the_tape()
    {
        using var s = TensorScope.Begin();
        using var tape = Autograd.UseTape();
        using var model = new Sequential(new Linear(4, 16, rng: new SeededRandom(4)), new Tanh(), new Linear(16, 3, rng: new SeededRandom(5)));
        var x = Tensor.FromArray(NNRef.RandF(6, 12 * 4, -1, 1), new Shape(12, 4));
        var y = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => (long)(i % 3)).ToArray(), new Shape(12));
        var ps = model.Parameters().ToArray();
        double first = 0, loss = 0;
        for (int step = 0; step < 300; step++)
        {
            using var it = TensorScope.Begin();
            var l = LossFunctions.CrossEntropy(model.Call(x), y);
            loss = l.Item();
            if (step == 0) first = loss;
            var g = Autograd.Grad([l], ps.Select(p => p.Value).ToArray());
            using (Autograd.NoGrad())
                for (int i = 0; i < ps.Length; i++) ps[i].Assign(Ops.Sub(ps[i].Value, Ops.Mul(g[i]!, 0.5)));
        }
        loss.Should().BeLessThan(first / 4);
    }

    [Test]
    public void Gradient_check_of_a_small_sequential()
    {
        using var model = new Sequential(new Linear(3, 5, rng: new SeededRandom(7)), new Tanh(), new LayerNorm(5), new GELU(),
            new Linear(5, 2, rng: new SeededRandom(8)));
        NNRef.RandomizeParameters(model, 9);
        GradCheck.Check(xs => model.Call(xs[0]), Arg.Random(10, -1, 1, 4, 3));
    }

    [Test]
    public void Gradient_check_of_attention_and_conv_stacks()
    {
        using var mha = new MultiHeadAttention(4, 2, rng: new SeededRandom(11));
        NNRef.RandomizeParameters(mha, 12);
        GradCheck.Check(xs => mha.Forward(xs[0], xs[1], xs[1]).Output, Arg.Random(13, -1, 1, 2, 3, 4), Arg.Random(14, -1, 1, 2, 2, 4));
        using var conv = new Sequential(new Conv2d(2, 3, 3, padding: 1, rng: new SeededRandom(15)), new BatchNorm2d(3), new Sigmoid(),
            new AvgPool2d(2), new Flatten(), new Linear(3 * 2 * 2, 2, rng: new SeededRandom(16)));
        GradCheck.Check(xs => conv.Call(xs[0]), Arg.Random(17, -1, 1, 2, 2, 4, 4));
    }

    [Test]
    public void Encoder_parameter_gradients_agree_between_the_tape_and_libtorch()
    {
        using var s = TensorScope.Begin();
        using var layer = new TransformerEncoderLayer(8, 2, 12, dropout: 0, activation: FeedForwardActivation.Gelu, rng: new SeededRandom(18));
        NNRef.RandomizeParameters(layer, 19);
        using var model = new Sequential(new Embedding(10, 8, new SeededRandom(20)), layer, new Flatten(), new Linear(5 * 8, 3, rng: new SeededRandom(21)));
        var ids = Tensor.FromArray(new long[] { 1, 4, 9, 0, 2, 3, 3, 8, 7, 5 }, new Shape(2, 5));
        var target = Tensor.FromArray(new long[] { 2, 0 }, new Shape(2));
        var pad = Tensor.FromArray(new[] { false, false, false, false, true, false, false, false, false, false }, new Shape(2, 5));
        var ps = model.Parameters().ToArray();

        double[][] Grads(bool tape)
        {
            using var it = TensorScope.Begin();
            using var mode = tape ? Autograd.UseTape() : null;
            foreach (var p in ps) p.Value.RequiresGrad = true;
            var h = ((Embedding)model[0]).Call(ids);
            h = layer.Forward(h, null, pad);
            var logits = model[3].Call(model[2].Call(h));
            var l = LossFunctions.CrossEntropy(logits, target);
            return Autograd.Grad([l], ps.Select(p => p.Value).ToArray()).Select(g => g!.ToDoubleArray()).ToArray();
        }

        var native = Grads(false);
        var rules = Grads(true);
        for (int i = 0; i < ps.Length; i++)
        {
            GradCheck.AssertClose(rules[i], native[i], 1e-4, 1e-6, ps[i].Name);
            native[i].Should().Contain(v => v != 0, $"{ps[i].Name} gets a gradient");
        }
    }
}
