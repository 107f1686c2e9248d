using DualFramework.Operators;
using static DualFramework.Torch.K;

namespace DualFramework.Torch;

/// <summary>Kernels of the shape ops.</summary>
internal static class ShapeKernels
{
    public static void Register(KernelTable t)
    {
        // reshape may return a view; our tensors are immutable, so sharing storage is safe.
        t.Add(OpSet.Reshape, (x, _, o) => In(x, 0).reshape(o[0].Shape.Raw));
        t.Add(OpSet.BroadcastTo, (x, _, o) => In(x, 0).expand(o[0].Shape.Raw));
    }
}
