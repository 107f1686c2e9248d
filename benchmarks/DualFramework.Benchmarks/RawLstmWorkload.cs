using DualFramework.Backends;
using TorchSharp;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Benchmarks;

/// <summary>The recurrent suite's reference: the same model and Adam step written in raw TorchSharp, whose
/// <c>nn.LSTM</c> runs libtorch's fused LSTM kernel (forward and backward).</summary>
public sealed class RawLstmWorkload : IDisposable
{
    private readonly TT _x, _y;
    private readonly TorchSharp.Modules.Embedding _embed;
    private readonly TorchSharp.Modules.LSTM _lstm;
    private readonly TorchSharp.Modules.Linear _head;
    private readonly torch.optim.Optimizer _opt;

    public RawLstmWorkload()
    {
        BackendRegistry.Get("torch"); // loads the natives before raw TorchSharp is touched
        _x = torch.tensor(RecurrentWorkloads.Windows().Select(v => (long)v).ToArray(), [RecurrentWorkloads.Batch, RecurrentWorkloads.Steps]);
        _y = torch.tensor(RecurrentWorkloads.Targets(), [RecurrentWorkloads.Batch]);
        torch.manual_seed(0);
        _embed = torch.nn.Embedding(RecurrentWorkloads.Vocabulary, RecurrentWorkloads.EmbeddingSize);
        _lstm = torch.nn.LSTM(RecurrentWorkloads.EmbeddingSize, RecurrentWorkloads.Hidden, batchFirst: true);
        _head = torch.nn.Linear(RecurrentWorkloads.Hidden, RecurrentWorkloads.Vocabulary);
        _opt = torch.optim.Adam(_embed.parameters().Concat(_lstm.parameters()).Concat(_head.parameters()), RecurrentWorkloads.LearningRate);
    }

    /// <summary>One training step.</summary>
    public float Step()
    {
        using var scope = torch.NewDisposeScope();
        _opt.zero_grad();
        var (states, _, _) = _lstm.call(_embed.call(_x), null);
        var last = states.select(1, RecurrentWorkloads.Steps - 1);
        var loss = torch.nn.functional.cross_entropy(_head.call(last), _y);
        loss.backward();
        _opt.step();
        return loss.numel();
    }

    public void Dispose()
    {
        _x.Dispose();
        _y.Dispose();
        _embed.Dispose();
        _lstm.Dispose();
        _head.Dispose();
        _opt.Dispose();
    }
}
