using DualFramework.NN;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.NN;


[TestFixture]
public class AttentionTests
{
    private const int B = 2, L = 3, S = 4, E = 8, H = 2;

    private static double[] D(float[] a) => a.Select(v => (double)v).ToArray();

    private static (double[] Out, double[] Weights) Reference(MultiHeadAttention m, float[] q, float[] k, float[] v, int l, int s,
        Func<int, int, int, int, double>? mask = null, int b = B) =>
        NNRef.Mha(D(q), D(k), D(v), b, l, s, E, H, NNRef.W(m, "in_proj_weight"), NNRef.W(m, "in_proj_bias"),
            NNRef.W(m, "out_proj.weight"), NNRef.W(m, "out_proj.bias"), mask);

    private static MultiHeadAttention Make(int seed, bool batchFirst = true, double dropout = 0)
    {
        var m = new MultiHeadAttention(E, H, dropout, batchFirst: batchFirst, rng: new SeededRandom(seed));
        NNRef.RandomizeParameters(m, seed + 100);
        return m;
    }

    [Test]
    public void Mha_matches_a_naive_reference_with_weights()
    {
        using var s = TensorScope.Begin();
        using var m = Make(1);
        float[] q = NNRef.RandF(1, B * L * E), k = NNRef.RandF(2, B * S * E), v = NNRef.RandF(3, B * S * E);
        var (y, w) = m.Forward(Tensor.FromArray(q, new Shape(B, L, E)), Tensor.FromArray(k, new Shape(B, S, E)),
            Tensor.FromArray(v, new Shape(B, S, E)), needWeights: true);
        var r = Reference(m, q, k, v, L, S);
        y.Shape.Should().Be(new Shape(B, L, E));
        w!.Shape.Should().Be(new Shape(B, L, S));
        GradCheck.AssertClose(y.ToFloatArray(), r.Out, 1e-4, 1e-5, "output");
        GradCheck.AssertClose(w.ToFloatArray(), r.Weights, 1e-4, 1e-6, "head-averaged weights");

        var (y2, none) = m.Forward(Tensor.FromArray(q, new Shape(B, L, E)), Tensor.FromArray(k, new Shape(B, S, E)), Tensor.FromArray(v, new Shape(B, S, E)));
        none.Should().BeNull("weights are only returned on request");
        y2.ToFloatArray().Should().Equal(y.ToFloatArray());

        var (_, perHead) = m.Forward(Tensor.FromArray(q, new Shape(B, L, E)), Tensor.FromArray(k, new Shape(B, S, E)),
            Tensor.FromArray(v, new Shape(B, S, E)), needWeights: true, averageAttnWeights: false);
        perHead!.Shape.Should().Be(new Shape(B, H, L, S));
        GradCheck.AssertClose(Ops.Mean(perHead, 1).ToFloatArray(), r.Weights, 1e-4, 1e-6, "per-head weights average to the averaged ones");
        GradCheck.AssertClose(Ops.Sum(perHead, -1).ToFloatArray(), Enumerable.Repeat(1.0, B * H * L).ToArray(), 1e-5, 1e-6, "rows sum to 1");
    }

    [Test]
    public void Mha_bool_and_float_masks_match_the_reference()
    {
        using var s = TensorScope.Begin();
        using var m = Make(2);
        float[] x = NNRef.RandF(4, B * S * E);
        var xt = Tensor.FromArray(x, new Shape(B, S, E));
        // Causal bool mask (true = masked out) plus padding of the last key of batch 1.
        var causal = new bool[S * S];
        for (int i = 0; i < S; i++)
            for (int j = 0; j < S; j++) causal[i * S + j] = j > i;
        var pad = new bool[B * S];
        pad[1 * S + S - 1] = true;
        var (y, w) = m.Forward(xt, xt, xt, Tensor.FromArray(causal, new Shape(S, S)), Tensor.FromArray(pad, new Shape(B, S)), needWeights: true);
        var r = Reference(m, x, x, x, S, S, (b, h, i, j) => causal[i * S + j] || pad[b * S + j] ? double.NegativeInfinity : 0);
        GradCheck.AssertClose(y.ToFloatArray(), r.Out, 1e-4, 1e-5, "bool masks");
        GradCheck.AssertClose(w!.ToFloatArray(), r.Weights, 1e-4, 1e-6, "bool-masked weights");
        w.ToFloatArray()[1].Should().Be(0, "a masked position gets weight 0");

        // A float mask per (batch·head) is added to the scores; a float key padding mask too.
        var fm = NNRef.RandF(5, B * H * S * S, -2, 2);
        var fp = NNRef.RandF(6, B * S, -1, 0);
        var (y2, _) = m.Forward(xt, xt, xt, Tensor.FromArray(fm, new Shape(B * H, S, S)), Tensor.FromArray(fp, new Shape(B, S)));
        var r2 = Reference(m, x, x, x, S, S, (b, h, i, j) => fm[((b * H + h) * S + i) * S + j] + fp[b * S + j]);
        GradCheck.AssertClose(y2.ToFloatArray(), r2.Out, 1e-4, 1e-5, "float masks");
    }

    [Test]
    public void Mha_fully_masked_query_gives_nan_like_pytorch()
    {
        using var s = TensorScope.Begin();
        using var m = Make(3);
        var x = Tensor.FromArray(NNRef.RandF(7, B * S * E), new Shape(B, S, E));
        var pad = new bool[B * S];
        for (int j = 0; j < S; j++) pad[j] = true;
        var y = m.Forward(x, x, x, keyPaddingMask: Tensor.FromArray(pad, new Shape(B, S))).Output.ToFloatArray();
        y[..(S * E)].Should().OnlyContain(v => float.IsNaN(v));
        y[(S * E)..].Should().OnlyContain(v => float.IsFinite(v));
    }

    [Test]
    public void Mha_sequence_first_and_unbatched_layouts()
    {
        using var s = TensorScope.Begin();
        using var m = Make(4, batchFirst: false);
        float[] q = NNRef.RandF(8, B * L * E), k = NNRef.RandF(9, B * S * E);
        var r = Reference(m, q, k, k, L, S);
        // Same data laid out [L, B, E].
        var qt = Ops.Transpose(Tensor.FromArray(q, new Shape(B, L, E)), 0, 1);
        var kt = Ops.Transpose(Tensor.FromArray(k, new Shape(B, S, E)), 0, 1);
        var (y, w) = m.Forward(qt, kt, kt, needWeights: true);
        y.Shape.Should().Be(new Shape(L, B, E));
        GradCheck.AssertClose(Ops.Transpose(y, 0, 1).ToFloatArray(), r.Out, 1e-4, 1e-5, "[L, B, E] layout");
        w!.Shape.Should().Be(new Shape(B, L, S), "weights are batch-first in every layout");

        var (yu, wu) = m.Forward(Tensor.FromArray(q[..(L * E)], new Shape(L, E)), Tensor.FromArray(k[..(S * E)], new Shape(S, E)),
            Tensor.FromArray(k[..(S * E)], new Shape(S, E)), needWeights: true);
        yu.Shape.Should().Be(new Shape(L, E));
        wu!.Shape.Should().Be(new Shape(L, S));
        GradCheck.AssertClose(yu.ToFloatArray(), r.Out[..(L * E)], 1e-4, 1e-5, "unbatched");
    }

    [Test]
    public void Mha_state_dict_counts_and_init()
    {
        using var s = TensorScope.Begin();
        using var m = new MultiHeadAttention(16, 4, rng: new SeededRandom(11));
        m.StateDict().Select(kv => (kv.Key, kv.Value.Shape)).Should().Equal(
            ("in_proj_weight", new Shape(48, 16)), ("in_proj_bias", new Shape(48)),
            ("out_proj.weight", new Shape(16, 16)), ("out_proj.bias", new Shape(16)));
        m.ParameterCount().Should().Be(4 * 16 * 16 + 4 * 16).And.Be(1088);
        new MultiHeadAttention(16, 4, bias: false).ParameterCount().Should().Be(4 * 16 * 16);

        m.InProjBias!.Value.ToFloatArray().Should().OnlyContain(v => v == 0);
        m.OutProj.Bias!.Value.ToFloatArray().Should().OnlyContain(v => v == 0);
        // Documented draws: in_proj_weight Xavier-uniform (fan_in 16, fan_out 48), then out_proj.weight U(±1/√16).
        var r = new SeededRandom(11);
        double xb = Math.Sqrt(6.0 / (16 + 48)), kb = 1 / Math.Sqrt(16);
        m.InProjWeight.Value.ToFloatArray().Should().Equal(Enumerable.Range(0, 48 * 16).Select(_ => (float)r.Uniform(-xb, xb)));
        m.OutProj.Weight.Value.ToFloatArray().Should().Equal(Enumerable.Range(0, 16 * 16).Select(_ => (float)r.Uniform(-kb, kb)));

        using var again = new MultiHeadAttention(16, 4, rng: new SeededRandom(11));
        again.InProjWeight.Value.ToFloatArray().Should().Equal(m.InProjWeight.Value.ToFloatArray());
        new MultiHeadAttention(16, 4, rng: new SeededRandom(12)).InProjWeight.Value.ToFloatArray()
            .Should().NotEqual(m.InProjWeight.Value.ToFloatArray());
    }

    [Test]
    public void Mha_dropout_applies_in_training_only()
    {
        using var s = TensorScope.Begin();
        using var m = Make(5, dropout: 0.5);
        float[] x = NNRef.RandF(10, B * S * E);
        var xt = Tensor.FromArray(x, new Shape(B, S, E));
        var train = m.Call(xt).ToFloatArray();
        var r = Reference(m, x, x, x, S, S);
        m.Eval();
        GradCheck.AssertClose(m.Call(xt).ToFloatArray(), r.Out, 1e-4, 1e-5, "evaluation has no dropout");
        train.Should().NotEqual(m.Call(xt).ToFloatArray(), "training drops attention weights");
        m.Generator.Draws.Should().Be(1);
    }

    [Test]
    public void Mha_rejects_bad_arguments_and_inputs()
    {
        using var s = TensorScope.Begin();
        FluentActions.Invoking(() => new MultiHeadAttention(10, 3)).Should().Throw<ArgumentException>().WithMessage("*MultiHeadAttention*divisible*");
        FluentActions.Invoking(() => new MultiHeadAttention(8, 2, dropout: 2)).Should().Throw<ArgumentException>().WithMessage("*MultiHeadAttention*dropout*");
        using var m = Make(6);
        var x = Ops.Ones(new Shape(B, S, E));
        FluentActions.Invoking(() => m.Forward(Ops.Ones(new Shape(B, S, E + 1)), x, x)).Should().Throw<OpException>()
            .Where(e => e.Message.Contains("embed_dim = 8") && e.LayerPath == "MultiHeadAttention");
        FluentActions.Invoking(() => m.Forward(x, Ops.Ones(new Shape(B, S + 1, E)), x)).Should().Throw<OpException>().WithMessage("*same sequence length*");
        FluentActions.Invoking(() => m.Forward(x, Ops.Ones(new Shape(B + 1, S, E)), Ops.Ones(new Shape(B + 1, S, E)))).Should().Throw<OpException>()
            .WithMessage("*same batch size*");
        FluentActions.Invoking(() => m.Forward(x, x, x, Ops.Zeros(new Shape(S, S + 1)))).Should().Throw<OpException>().WithMessage("*attn_mask must have shape*");
        FluentActions.Invoking(() => m.Forward(x, x, x, keyPaddingMask: Ops.Zeros(new Shape(S)))).Should().Throw<OpException>()
            .WithMessage("*key_padding_mask must have shape*");
        FluentActions.Invoking(() => m.Forward(x, x, x, Ops.Zeros(new Shape(S, S), DType.Int64))).Should().Throw<OpException>()
            .WithMessage("*attn_mask must be bool or floating*");
        FluentActions.Invoking(() => m.Forward(x, Ops.Ones(new Shape(S, E)), x)).Should().Throw<OpException>().WithMessage("*rank 3*");
    }

    // ---- TransformerEncoderLayer ----

    private static readonly string[] EncoderNames =
    [
        "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
        "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
    ];

    [TestCase(FeedForwardActivation.Relu, false)]
    [TestCase(FeedForwardActivation.Gelu, true)]
    public void Encoder_layer_matches_a_naive_reference_in_eval(FeedForwardActivation act, bool normFirst)
    {
        using var s = TensorScope.Begin();
        const int ff = 12;
        using var layer = new TransformerEncoderLayer(E, H, ff, dropout: 0.1, activation: act, normFirst: normFirst, rng: new SeededRandom(3));
        NNRef.RandomizeParameters(layer, 30);
        layer.Eval();
        var x = NNRef.RandF(12, B * S * E);
        var pad = new bool[B * S];
        pad[S - 1] = true;
        var causal = new bool[S * S];
        for (int i = 0; i < S; i++)
            for (int j = 0; j < S; j++) causal[i * S + j] = j > i;
        var y = layer.Forward(Tensor.FromArray(x, new Shape(B, S, E)), Tensor.FromArray(causal, new Shape(S, S)), Tensor.FromArray(pad, new Shape(B, S)));
        var expected = NNRef.EncoderLayer(layer, D(x), B, S, E, H, ff, act == FeedForwardActivation.Gelu, normFirst, 1e-5,
            (b, h, i, j) => causal[i * S + j] || pad[b * S + j] ? double.NegativeInfinity : 0);
        y.Shape.Should().Be(new Shape(B, S, E));
        GradCheck.AssertClose(y.ToFloatArray(), expected, 1e-4, 1e-4, $"{act}, normFirst={normFirst}");

        var plain = layer.Call(Tensor.FromArray(x, new Shape(B, S, E)));
        GradCheck.AssertClose(plain.ToFloatArray(), NNRef.EncoderLayer(layer, D(x), B, S, E, H, ff, act == FeedForwardActivation.Gelu, normFirst, 1e-5), 1e-4, 1e-4, "no masks");
    }

    [Test]
    public void Encoder_layer_state_dict_names_train_eval_and_dropout()
    {
        using var s = TensorScope.Begin();
        using var layer = new TransformerEncoderLayer(E, H, 16, rng: new SeededRandom(4));
        layer.StateDict().Keys.Should().Equal(EncoderNames);
        layer.NamedChildren().Select(c => c.Name).Should().Equal("self_attn", "linear1", "dropout", "linear2", "norm1", "norm2", "dropout1", "dropout2");
        layer.StateDict()["linear1.weight"].Shape.Should().Be(new Shape(16, E));
        layer.StateDict()["linear2.weight"].Shape.Should().Be(new Shape(E, 16));
        layer.ParameterCount().Should().Be(4 * E * E + 4 * E + (16 * E + 16) + (E * 16 + E) + 4 * E);
        new TransformerEncoderLayer(32, 4).StateDict()["linear1.weight"].Shape.Should().Be(new Shape(2048, 32), "dim_feedforward defaults to 2048");

        layer.Eval();
        layer.NamedModules().Should().OnlyContain(m => !m.Module.Training);
        var x = Tensor.FromArray(NNRef.RandF(13, B * S * E), new Shape(B, S, E));
        var eval = layer.Call(x).ToFloatArray();
        layer.Train();
        layer.NamedModules().Should().OnlyContain(m => m.Module.Training);
        var train = layer.Call(x).ToFloatArray();
        train.Should().NotEqual(eval, "dropout 0.1 is active in training");

        using var twin = new TransformerEncoderLayer(E, H, 16, rng: new SeededRandom(4));
        twin.Call(x).ToFloatArray().Should().Equal(train, "same seed: same weights and the same dropout masks");

        using var noDrop = new TransformerEncoderLayer(E, H, 16, dropout: 0, rng: new SeededRandom(4));
        var a = noDrop.Call(x).ToFloatArray();
        noDrop.Eval();
        noDrop.Call(x).ToFloatArray().Should().Equal(a, "without dropout training and evaluation agree");
    }

    [Test]
    public void Encoder_layer_sequence_first_layout()
    {
        using var s = TensorScope.Begin();
        using var bf = new TransformerEncoderLayer(E, H, 12, rng: new SeededRandom(5)).Eval();
        using var sf = new TransformerEncoderLayer(E, H, 12, batchFirst: false, rng: new SeededRandom(6));
        sf.LoadStateDict(bf.StateDict());
        sf.Eval();
        var x = Tensor.FromArray(NNRef.RandF(14, B * S * E), new Shape(B, S, E));
        var y = sf.Call(Ops.Transpose(x, 0, 1));
        y.Shape.Should().Be(new Shape(S, B, E));
        GradCheck.AssertClose(Ops.Transpose(y, 0, 1).ToFloatArray(), D(bf.Call(x).ToFloatArray()), 1e-5, 1e-6, "[L, B, E] equals [B, L, E]");
    }

    [Test]
    public void Encoder_layer_errors_name_the_sublayer()
    {
        using var s = TensorScope.Begin();
        FluentActions.Invoking(() => new TransformerEncoderLayer(E, H, activation: (FeedForwardActivation)42)).Should().Throw<ArgumentException>()
            .WithMessage("*TransformerEncoderLayer*activation*");
        FluentActions.Invoking(() => new TransformerEncoderLayer(E, 3)).Should().Throw<ArgumentException>().WithMessage("*divisible*");
        using var layer = new TransformerEncoderLayer(E, H, 12, rng: new SeededRandom(7));
        FluentActions.Invoking(() => layer.Call(Ops.Ones(new Shape(B, S, E - 1)))).Should().Throw<OpException>()
            .Where(e => e.LayerPath == "TransformerEncoderLayer.self_attn");
        var x = Ops.Ones(new Shape(B, S, E));
        FluentActions.Invoking(() => layer.Forward(x, srcKeyPaddingMask: Ops.Zeros(new Shape(B, S + 1), DType.Bool))).Should().Throw<OpException>()
            .Where(e => e.LayerPath == "TransformerEncoderLayer.self_attn" && e.Message.Contains("key_padding_mask"));
        using var model = new Sequential(new Linear(6, E, rng: new SeededRandom(1)), new TransformerEncoderLayer(E, H, 12, normFirst: true, rng: new SeededRandom(2)));
        FluentActions.Invoking(() => model.Call(Ops.Ones(new Shape(S, 6), DType.Int64))).Should().NotThrow("int input is promoted by Linear");
        FluentActions.Invoking(() => ((TransformerEncoderLayer)model[1]).Forward(Ops.Ones(new Shape(B, S, E)), Ops.Ones(new Shape(2, 2))))
            .Should().Throw<OpException>().Where(e => e.LayerPath == "1.self_attn", "a child called directly names its own path");
    }
}
