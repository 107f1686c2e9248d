using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the random family (<c>OpSet.Random.cs</c>): RandomNormal, RandomUniform.</summary>
internal static class RandomKernels
{
    public static void Register(KernelTable t)
    {
        var dev = t.Backend.TorchDevice;
        t.Add(OpSet.RandomUniform, (_, u, _) =>
        {
            var r = torch.empty(u.Shape, ScalarTypeOf(u.DType), dev);
            return r.uniform_(u.Low, u.High, Seeded(u.Seed, dev));
        });
        t.Add(OpSet.RandomNormal, (_, n, _) =>
        {
            var r = torch.empty(n.Shape, ScalarTypeOf(n.DType), dev);
            return r.normal_(n.Mean, n.Std, Seeded(n.Seed, dev));
        });
    }

    [ThreadStatic] private static torch.Generator? _cuda;

    // One libtorch generator per thread and device kind, re-seeded for every op so results depend on the op seed alone.
    [ThreadStatic] private static torch.Generator? _cpu;

    /// <summary>The thread's generator for <paramref name="device"/>, seeded with <paramref name="seed"/>.</summary>
    public static torch.Generator Seeded(ulong seed, torch.Device device)
    {
        bool cpu = device.type == TorchSharp.DeviceType.CPU;
        ref var g = ref cpu ? ref _cpu : ref _cuda;
        g ??= new torch.Generator(seed, device);
        g.manual_seed(unchecked((long)seed));
        return g;
    }
}
