using DualFramework.Backends;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using TorchSharp;
using static TorchSharp.torch.nn;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Benchmarks;

/// <summary>
/// The "overhead" suite: one Adam training step (batch 64, cross-entropy) of the same MLP (784-256-10) and CNN
/// (conv32-pool-conv64-pool-fc128-fc10) written in raw TorchSharp and in DualFramework on the eager backend.
/// </summary>
public sealed class OverheadWorkloads : IDisposable
{
    private const int Batch = 64;
    private readonly TT _rx, _ry;
    private readonly Tensor _x, _y;
    private readonly torch.nn.Module<TT, TT> _rawMlp, _rawCnn;
    private readonly torch.optim.Optimizer _rawMlpOpt, _rawCnnOpt;
    private readonly DualFramework.NN.Module _mlp, _cnn;
    private readonly Adam _mlpOpt, _cnnOpt;
    private readonly CrossEntropyLoss _loss = new();

    public OverheadWorkloads()
    {
        BackendRegistry.SetDefault("torch"); // loads the natives before raw TorchSharp is touched
        var rng = new Random(0);
        var x = Enumerable.Range(0, Batch * 784).Select(_ => (float)rng.NextDouble()).ToArray();
        var y = Enumerable.Range(0, Batch).Select(i => (long)(i % 10)).ToArray();
        _rx = torch.tensor(x, [Batch, 1, 28, 28]);
        _ry = torch.tensor(y, [Batch]);
        _x = Tensor.FromArray(x, new Shape(Batch, 1, 28, 28)).DetachFromScope();
        _y = Tensor.FromArray(y, new Shape(Batch)).DetachFromScope();

        torch.manual_seed(0);
        _rawMlp = Sequential(Flatten(), Linear(784, 256), ReLU(), Linear(256, 10));
        _rawCnn = Sequential(Conv2d(1, 32, 3, padding: 1), ReLU(), MaxPool2d(2), Conv2d(32, 64, 3, padding: 1), ReLU(), MaxPool2d(2),
            Flatten(), Linear(64 * 7 * 7, 128), ReLU(), Linear(128, 10));
        _rawMlpOpt = torch.optim.Adam(_rawMlp.parameters(), 1e-3);
        _rawCnnOpt = torch.optim.Adam(_rawCnn.parameters(), 1e-3);

        var seed = new SeededRandom(0);
        _mlp = new DualFramework.NN.Sequential(new DualFramework.NN.Flatten(), new DualFramework.NN.Linear(784, 256, rng: seed),
            new DualFramework.NN.ReLU(), new DualFramework.NN.Linear(256, 10, rng: seed));
        _cnn = new DualFramework.NN.Sequential(
            new DualFramework.NN.Conv2d(1, 32, 3, padding: 1, rng: seed), new DualFramework.NN.ReLU(), new DualFramework.NN.MaxPool2d(2),
            new DualFramework.NN.Conv2d(32, 64, 3, padding: 1, rng: seed), new DualFramework.NN.ReLU(), new DualFramework.NN.MaxPool2d(2),
            new DualFramework.NN.Flatten(), new DualFramework.NN.Linear(64 * 7 * 7, 128, rng: seed), new DualFramework.NN.ReLU(),
            new DualFramework.NN.Linear(128, 10, rng: seed));
        _mlpOpt = new Adam(_mlp.Parameters(), 1e-3);
        _cnnOpt = new Adam(_cnn.Parameters(), 1e-3);
    }

    private static float RawStep(torch.nn.Module<TT, TT> model, torch.optim.Optimizer opt, TT x, TT y)
    {
        using var scope = torch.NewDisposeScope();
        opt.zero_grad();
        var loss = torch.nn.functional.cross_entropy(model.call(x), y);
        loss.backward();
        opt.step();
        return loss.numel();
    }

    private float OurStep(DualFramework.NN.Module model, Adam opt)
    {
        using var scope = TensorScope.Begin();
        opt.ZeroGrad();
        var loss = _loss.Compute(model.Call(_x), _y);
        loss.Backward();
        opt.Step();
        return loss.NumElements;
    }

    /// <summary>Raw TorchSharp MLP step.</summary>
    public float RawMlp() => RawStep(_rawMlp, _rawMlpOpt, _rx, _ry);

    /// <summary>DualFramework MLP step.</summary>
    public float OursMlp() => OurStep(_mlp, _mlpOpt);

    /// <summary>Raw TorchSharp CNN step.</summary>
    public float RawCnn() => RawStep(_rawCnn, _rawCnnOpt, _rx, _ry);

    /// <summary>DualFramework CNN step.</summary>
    public float OursCnn() => OurStep(_cnn, _cnnOpt);

    public void Dispose()
    {
        _rx.Dispose();
        _ry.Dispose();
        _x.Dispose();
        _y.Dispose();
        _rawMlp.Dispose();
        _rawCnn.Dispose();
        _mlp.Dispose();
        _cnn.Dispose();
        _mlpOpt.Dispose();
        _cnnOpt.Dispose();
    }
}
