using DualFramework.Backends;
using TorchSharp;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Benchmarks;

/// <summary>
/// The "ops" suite: identical work done with raw TorchSharp and with DualFramework on the torch backend.
/// (1) a chain of 100 small elementwise ops on 64×64 tensors; (2) a 256×256 matmul + bias + relu + sum + backward.
/// </summary>
public sealed class OpsWorkloads : IDisposable
{
    private const int ChainLength = 100;
    private readonly TT _rx, _ry, _rw, _rb, _rin;
    private readonly Tensor _x, _y, _w, _b, _in;

    public OpsWorkloads()
    {
        BackendRegistry.SetDefault("torch"); // loads the natives before raw TorchSharp is touched
        var rng = new Random(0);
        float[] Data(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var x = Data(64 * 64);
        var y = Data(64 * 64);
        var w = Data(256 * 256);
        var b = Data(256);
        var inp = Data(256 * 256);
        _rx = torch.tensor(x, [64, 64]);
        _ry = torch.tensor(y, [64, 64]);
        _rw = torch.tensor(w, [256, 256]).requires_grad_(true);
        _rb = torch.tensor(b, [256]).requires_grad_(true);
        _rin = torch.tensor(inp, [256, 256]);
        _x = Tensor.FromArray(x, new Shape(64, 64)).DetachFromScope();
        _y = Tensor.FromArray(y, new Shape(64, 64)).DetachFromScope();
        _w = Tensor.FromArray(w, new Shape(256, 256)).DetachFromScope();
        _b = Tensor.FromArray(b, new Shape(256)).DetachFromScope();
        _in = Tensor.FromArray(inp, new Shape(256, 256)).DetachFromScope();
        _w.RequiresGrad = true;
        _b.RequiresGrad = true;
    }

    /// <summary>Raw TorchSharp: 100 elementwise ops (add, mul, tanh, sub, sigmoid cycling).</summary>
    public float RawChain()
    {
        using var scope = torch.NewDisposeScope();
        var h = _rx;
        for (int i = 0; i < ChainLength; i++)
        {
            h = (i % 5) switch
            {
                0 => h.add(_ry),
                1 => h.mul(_ry),
                2 => h.tanh(),
                3 => h.sub(_ry),
                _ => h.sigmoid(),
            };
        }
        return h.numel();
    }

    /// <summary>DualFramework: the same 100 ops.</summary>
    public float OursChain()
    {
        using var scope = TensorScope.Begin();
        var h = _x;
        for (int i = 0; i < ChainLength; i++)
        {
            h = (i % 5) switch
            {
                0 => Ops.Add(h, _y),
                1 => Ops.Mul(h, _y),
                2 => Ops.Tanh(h),
                3 => Ops.Sub(h, _y),
                _ => Ops.Sigmoid(h),
            };
        }
        return h.NumElements;
    }

    /// <summary>Raw TorchSharp: relu(x @ w + b).sum().backward().</summary>
    public float RawMatmulBackward()
    {
        using var scope = torch.NewDisposeScope();
        var loss = torch.nn.functional.relu(_rin.matmul(_rw).add(_rb)).sum();
        loss.backward();
        _rw.grad = null;
        _rb.grad = null;
        return loss.numel();
    }

    /// <summary>DualFramework: the same step.</summary>
    public float OursMatmulBackward()
    {
        using var scope = TensorScope.Begin();
        var loss = Ops.Sum(Ops.Relu(Ops.Add(Ops.MatMul(_in, _w), _b)));
        loss.Backward();
        _w.Grad = null;
        _b.Grad = null;
        return loss.NumElements;
    }

    public void Dispose()
    {
        foreach (var t in new[] { _rx, _ry, _rw, _rb, _rin }) t.Dispose();
        foreach (var t in new[] { _x, _y, _w, _b, _in }) t.Dispose();
    }
}
