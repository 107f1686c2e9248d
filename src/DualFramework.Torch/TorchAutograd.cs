using DualFramework.Backends;
using TorchSharp;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch autograd behind <see cref="INativeAutograd"/>.</summary>
internal sealed class TorchAutograd : INativeAutograd
{
    public void SetRequiresGrad(object handle, bool value) => ((TT)handle).requires_grad = value;

    public bool RequiresGrad(object handle) => ((TT)handle).requires_grad;

    public object? GetGrad(object handle)
    {
        var g = ((TT)handle).grad;
        return g is null || g.IsInvalid ? null : g;
    }

    public void SetGrad(object handle, object? grad)
    {
        var t = (TT)handle;
        if (grad == null)
        {
            using var g = t.grad;
            if (g is not null && !g.IsInvalid)
            {
                using var _ = torch.no_grad();
                t.grad = null;
            }
            return;
        }
        t.grad = (TT)grad;
    }

    public void Backward(object root, object? gradient, bool retainGraph)
    {
        var r = (TT)root;
        if (gradient == null) r.backward(null, retainGraph);
        else r.backward([(TT)gradient], retainGraph);
    }

    public object?[] Grad(object[] outputs, object?[] gradOutputs, object[] inputs, bool retainGraph, bool createGraph)
    {
        var outs = outputs.Cast<TT>().ToList();
        // Seeds made here are owned here: disposed after the call, which also keeps them alive through it.
        var made = new List<TT>();
        var seeds = gradOutputs.All(g => g == null) ? null : gradOutputs.Select((g, i) =>
        {
            if (g != null) return (TT)g;
            var one = torch.ones_like(outs[i]);
            made.Add(one);
            return one;
        }).ToList();
        var ins = inputs.Cast<TT>().ToList();
        try
        {
            var r = torch.autograd.grad(outs, ins, seeds, retainGraph, createGraph, allow_unused: true);
            return r.Select(t => t is null || t.IsInvalid ? null : (object)t).ToArray();
        }
        finally
        {
            GC.KeepAlive(outputs);
            GC.KeepAlive(gradOutputs);
            GC.KeepAlive(inputs);
            foreach (var m in made) m.Dispose();
        }
    }

    public object Detach(object handle) => ((TT)handle).detach();

    public IDisposable NoGrad() => torch.no_grad();
}
