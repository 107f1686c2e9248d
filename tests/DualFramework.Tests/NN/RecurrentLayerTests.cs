using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.NN;
using DualFramework.Operators;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;
using TorchSharp;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Tests.NN;

/// <summary>LSTM, GRU and RNN layers against libtorch's own <c>torch.nn.LSTM/GRU/RNN</c> (through TorchSharp, float64) with
/// the same weights: outputs, final states and the gradients of inputs, initial states and every parameter, on both
/// backends.</summary>
[TestFixture]
public class RecurrentLayerTests
{
    private const long T = 4, B = 3, I = 5, H = 6;

    internal static float[] Rand(int seed, long n, double lo = -1, double hi = 1)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, (int)n).Select(_ => (float)(lo + (hi - lo) * r.NextDouble())).ToArray();
    }

    internal static TT Torch(float[] v, long[] shape) => torch.tensor(v.Select(x => (double)x).ToArray(), shape, torch.float64);

    internal static double[] Values(TT t) => t.contiguous().data<double>().ToArray();

    [TestCase("lstm", "torch", 1, false, false)]
    [TestCase("lstm", "graph", 1, false, false)]
    [TestCase("lstm", "torch", 2, true, true)]
    [TestCase("lstm", "graph", 2, true, true)]
    [TestCase("gru", "torch", 1, false, true)]
    [TestCase("gru", "graph", 1, false, true)]
    [TestCase("gru", "torch", 2, true, false)]
    [TestCase("gru", "graph", 2, true, false)]
    [TestCase("rnn", "torch", 2, true, true)]
    [TestCase("rnn", "graph", 2, true, true)]
    [TestCase("rnn_relu", "torch", 1, true, false)]
    [TestCase("rnn_relu", "graph", 1, true, false)]
    public void Forward_and_gradients_match_libtorch(string kind, string backendName, int layers, bool bidirectional, bool batchFirst)
    {
        int d = bidirectional ? 2 : 1;
        long[] xShape = batchFirst ? [B, T, I] : [T, B, I];
        long[] sShape = [layers * d, B, H];
        float[] xv = Rand(1, T * B * I), h0v = Rand(2, layers * d * B * H), c0v = Rand(3, layers * d * B * H);
        float[] cy = Rand(4, T * B * d * H), ch = Rand(5, layers * d * B * H), cc = Rand(6, layers * d * B * H);
        bool lstm = kind == "lstm";

        // libtorch's reference, float64.
        TorchSharp.Modules.LSTM? tLstm = null;
        Func<TT, TT, (TT, TT)>? tRnn = null;
        torch.nn.Module tModule;
        if (lstm) tModule = tLstm = torch.nn.LSTM(I, H, layers, bias: true, batchFirst: batchFirst, bidirectional: bidirectional, dtype: torch.float64);
        else if (kind == "gru")
        {
            var gru = torch.nn.GRU(I, H, layers, bias: true, batchFirst: batchFirst, bidirectional: bidirectional, dtype: torch.float64);
            (tModule, tRnn) = (gru, (a, h) => gru.forward(a, h));
        }
        else
        {
            var rnn = torch.nn.RNN(I, H, layers, kind == "rnn_relu" ? torch.nn.NonLinearities.ReLU : torch.nn.NonLinearities.Tanh,
                bias: true, batchFirst: batchFirst, bidirectional: bidirectional, dtype: torch.float64);
            (tModule, tRnn) = (rnn, (a, h) => rnn.forward(a, h));
        }

        var backend = BackendRegistry.Get(backendName);
        using var bscope = BackendRegistry.Use(backend);
        using var scope = TensorScope.Begin();
        var rng = new SeededRandom(7);
        RecurrentLayer ours = kind switch
        {
            "lstm" => new LSTM(I, H, layers, batchFirst: batchFirst, bidirectional: bidirectional, rng: rng),
            "gru" => new GRU(I, H, layers, batchFirst: batchFirst, bidirectional: bidirectional, rng: rng),
            _ => new RNN(I, H, layers, kind == "rnn_relu" ? RnnActivation.Relu : RnnActivation.Tanh, batchFirst: batchFirst, bidirectional: bidirectional, rng: rng),
        };
        using var _ = ours;
        var names = ours.NamedParameters().Select(p => p.Name).ToArray();
        names.Should().BeEquivalentTo(tModule.named_parameters().Select(p => p.name), "PyTorch's parameter names");
        using (torch.no_grad())
            foreach (var (name, p) in tModule.named_parameters())
                p.copy_(Torch(ours.Parameter(name).Value.ToFloatArray(), p.shape));

        var tx = Torch(xv, xShape).requires_grad_(true);
        var th0 = Torch(h0v, sShape).requires_grad_(true);
        var tc0 = Torch(c0v, sShape).requires_grad_(true);
        long[] yShape = batchFirst ? [B, T, d * H] : [T, B, d * H];
        TT ty, thn, tcn = null!;
        if (lstm) (ty, thn, tcn) = tLstm!.forward(tx, (th0, tc0));
        else (ty, thn) = tRnn!(tx, th0);
        var tLoss = (ty * Torch(cy, yShape)).sum() + (thn * Torch(ch, sShape)).sum();
        if (lstm) tLoss += (tcn * Torch(cc, sShape)).sum();
        tLoss.backward();

        var x = Tensor.FromArray(xv, new Shape(xShape));
        var h0 = Tensor.FromArray(h0v, new Shape(sShape));
        var c0 = Tensor.FromArray(c0v, new Shape(sShape));
        x.RequiresGrad = h0.RequiresGrad = c0.RequiresGrad = true;
        Tensor y, hn, cn = null!;
        if (ours is LSTM l) (y, hn, cn) = l.Forward(x, h0, c0);
        else if (ours is GRU g) (y, hn) = g.Forward(x, h0);
        else (y, hn) = ((RNN)ours).Forward(x, h0);
        var loss = Ops.Add(Ops.Sum(Ops.Mul(y, Tensor.FromArray(cy, new Shape(yShape)))), Ops.Sum(Ops.Mul(hn, Tensor.FromArray(ch, new Shape(sShape)))));
        if (lstm) loss = Ops.Add(loss, Ops.Sum(Ops.Mul(cn, Tensor.FromArray(cc, new Shape(sShape)))));
        var wrt = new List<Tensor> { x, h0 };
        if (lstm) wrt.Add(c0);
        wrt.AddRange(names.Select(n => ours.Parameter(n).Value));
        var grads = Autograd.Grad([loss], wrt.ToArray());

        const double rtol = 1e-5, atol = 1e-5;
        y.Shape.Should().Be(new Shape(yShape));
        GradCheck.AssertClose(y.ToFloatArray(), Values(ty), rtol, atol, "output");
        GradCheck.AssertClose(hn.ToFloatArray(), Values(thn), rtol, atol, "h_n");
        if (lstm) GradCheck.AssertClose(cn.ToFloatArray(), Values(tcn), rtol, atol, "c_n");
        GradCheck.AssertClose(grads[0]!.ToFloatArray(), Values(tx.grad!), rtol, atol, "input gradient");
        GradCheck.AssertClose(grads[1]!.ToFloatArray(), Values(th0.grad!), rtol, atol, "h0 gradient");
        if (lstm) GradCheck.AssertClose(grads[2]!.ToFloatArray(), Values(tc0.grad!), rtol, atol, "c0 gradient");
        int k = lstm ? 3 : 2;
        var tParams = tModule.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var name in names)
            GradCheck.AssertClose(grads[k++]!.ToFloatArray(), Values(tParams[name].grad!), rtol, atol, $"gradient of {name}");
        tModule.Dispose();
    }
}
