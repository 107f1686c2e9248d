using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.NN;
using DualFramework.Operators;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;
using TorchSharp;
using static DualFramework.Tests.NN.RecurrentLayerTests;

namespace DualFramework.Tests.NN;

/// <summary>Variable-length batches through LSTM, GRU and RNN layers (<c>lengths</c>) against libtorch's packed sequences
/// (<c>pack_padded_sequence</c> into <c>torch.nn.LSTM/GRU/RNN</c>, float64) with the same weights: padded outputs, final
/// states and gradients, on both backends.</summary>
[TestFixture]
public class RecurrentLengthsTests
{
    private const long T = 5, B = 3, I = 4, H = 6;
    private static readonly long[] Lengths = [3, 5, 1];

    [TestCase("lstm", "torch", 1, false, false)]
    [TestCase("lstm", "graph", 1, false, false)]
    [TestCase("lstm", "torch", 2, true, true)]
    [TestCase("lstm", "graph", 2, true, true)]
    [TestCase("gru", "torch", 2, true, false)]
    [TestCase("gru", "graph", 2, true, false)]
    [TestCase("rnn", "torch", 1, true, true)]
    [TestCase("rnn", "graph", 1, true, true)]
    public void Lengths_match_libtorch_packed_sequences(string kind, string backendName, int layers, bool bidirectional, bool batchFirst)
    {
        int d = bidirectional ? 2 : 1;
        long[] xShape = batchFirst ? [B, T, I] : [T, B, I];
        long[] yShape = batchFirst ? [B, T, d * H] : [T, B, d * H];
        long[] sShape = [layers * d, B, H];
        float[] xv = Rand(1, T * B * I), cy = Rand(2, T * B * d * H), ch = Rand(3, layers * d * B * H), cc = Rand(4, layers * d * B * H);
        bool lstm = kind == "lstm";

        torch.nn.Module tModule = kind switch
        {
            "lstm" => torch.nn.LSTM(I, H, layers, batchFirst: batchFirst, bidirectional: bidirectional, dtype: torch.float64),
            "gru" => torch.nn.GRU(I, H, layers, batchFirst: batchFirst, bidirectional: bidirectional, dtype: torch.float64),
            _ => torch.nn.RNN(I, H, layers, batchFirst: batchFirst, bidirectional: bidirectional, dtype: torch.float64),
        };
        using var backendScope = BackendRegistry.Use(BackendRegistry.Get(backendName));
        using var scope = TensorScope.Begin();
        var rng = new SeededRandom(11);
        RecurrentLayer ours = kind switch
        {
            "lstm" => new LSTM(I, H, layers, batchFirst: batchFirst, bidirectional: bidirectional, rng: rng),
            "gru" => new GRU(I, H, layers, batchFirst: batchFirst, bidirectional: bidirectional, rng: rng),
            _ => new RNN(I, H, layers, batchFirst: batchFirst, bidirectional: bidirectional, rng: rng),
        };
        using var _ = ours;
        var names = ours.NamedParameters().Select(p => p.Name).ToArray();
        using (torch.no_grad())
            foreach (var (name, p) in tModule.named_parameters())
                p.copy_(RecurrentLayerTests.Torch(ours.Parameter(name).Value.ToFloatArray(), p.shape));

        // libtorch: pack (unsorted lengths), run, pad back to T.
        var tx = RecurrentLayerTests.Torch(xv, xShape).requires_grad_(true);
        var packed = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(Lengths), batchFirst, enforce_sorted: false);
        torch.nn.utils.rnn.PackedSequence py;
        TorchSharp.torch.Tensor thn, tcn = null!;
        if (tModule is TorchSharp.Modules.LSTM tl) (py, thn, tcn) = tl.call(packed, null);
        else if (tModule is TorchSharp.Modules.GRU tg) (py, thn) = tg.call(packed, null);
        else (py, thn) = ((TorchSharp.Modules.RNN)tModule).call(packed, null);
        var (ty, _) = torch.nn.utils.rnn.pad_packed_sequence(py, batchFirst, total_length: T);
        var tLoss = (ty * RecurrentLayerTests.Torch(cy, yShape)).sum() + (thn * RecurrentLayerTests.Torch(ch, sShape)).sum();
        if (lstm) tLoss += (tcn * RecurrentLayerTests.Torch(cc, sShape)).sum();
        tLoss.backward();

        var x = Tensor.FromArray(xv, new Shape(xShape));
        x.RequiresGrad = true;
        var lengths = Tensor.FromArray(Lengths, new Shape(B));
        Tensor y, hn, cn = null!;
        if (ours is LSTM l) (y, hn, cn) = l.Forward(x, null, null, lengths);
        else if (ours is GRU g) (y, hn) = g.Forward(x, null, lengths);
        else (y, hn) = ((RNN)ours).Forward(x, null, lengths);
        var loss = Ops.Add(Ops.Sum(Ops.Mul(y, Tensor.FromArray(cy, new Shape(yShape)))), Ops.Sum(Ops.Mul(hn, Tensor.FromArray(ch, new Shape(sShape)))));
        if (lstm) loss = Ops.Add(loss, Ops.Sum(Ops.Mul(cn, Tensor.FromArray(cc, new Shape(sShape)))));
        var wrt = new List<Tensor> { x };
        wrt.AddRange(names.Select(n => ours.Parameter(n).Value));
        var grads = Autograd.Grad([loss], wrt.ToArray());

        // float32 against float64: a few ulps of rounding per step over at most 5 steps and 2 layers.
        const double rtol = 1e-5, atol = 1e-5;
        y.Shape.Should().Be(new Shape(yShape));
        var yv = y.ToFloatArray();
        GradCheck.AssertClose(yv, Values(ty), rtol, atol, "padded output");
        for (long b = 0; b < B; b++)
            for (long t = Lengths[b]; t < T; t++)
                for (long k = 0; k < d * H; k++)
                    yv[batchFirst ? (b * T + t) * d * H + k : (t * B + b) * d * H + k].Should().Be(0f, "outputs past an entry's length are zeros");
        GradCheck.AssertClose(hn.ToFloatArray(), Values(thn), rtol, atol, "h_n");
        if (lstm) GradCheck.AssertClose(cn.ToFloatArray(), Values(tcn), rtol, atol, "c_n");
        GradCheck.AssertClose(grads[0]!.ToFloatArray(), Values(tx.grad!), rtol, atol, "input gradient");
        var tParams = tModule.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        for (int k = 0; k < names.Length; k++)
            GradCheck.AssertClose(grads[k + 1]!.ToFloatArray(), Values(tParams[names[k]].grad!), rtol, atol, $"gradient of {names[k]}");
        tModule.Dispose();
    }

    [Test]
    public void Lengths_of_the_wrong_shape_or_dtype_name_the_layer()
    {
        using var scope = TensorScope.Begin();
        using var lstm = new LSTM(I, H, rng: new SeededRandom(1));
        var x = Tensor.FromArray(Rand(1, T * B * I), new Shape(T, B, I));
        var act = () => lstm.Forward(x, null, null, Tensor.FromArray(new long[] { 1, 2 }, new Shape(2)));
        act.Should().Throw<Exception>().WithMessage("*LSTM*lengths must be integers of shape [3]*");
        var floats = () => lstm.Forward(x, null, null, Tensor.FromArray(new float[] { 1, 2, 3 }, new Shape(3)));
        floats.Should().Throw<Exception>().WithMessage("*lengths must be integers*");
    }
}
