namespace DualFramework.Torch;

/// <summary>Kernels of the neural-network ops (matmul, conv, pooling, normalisation, dropout…).</summary>
internal static class NnKernels
{
    public static void Register(KernelTable t)
    {
        _ = t;
    }
}
