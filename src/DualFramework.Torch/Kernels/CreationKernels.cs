using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.K;

namespace DualFramework.Torch;

/// <summary>Kernels of the creation ops.</summary>
internal static class CreationKernels
{
    public static void Register(KernelTable t)
    {
        var dev = t.Backend.TorchDevice;
        t.Add(OpSet.Full, (_, a, _) =>
        {
            var f = (FullAttrs)a;
            return torch.full(f.Shape, Sc(f.Value, f.DType), St(f.DType), dev);
        });
    }
}
