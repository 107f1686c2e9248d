namespace DualFramework.Torch;

/// <summary>Kernels of the batch_norm, layer_norm and dropout ops.</summary>
internal static class NormKernels
{
    public static void Register(KernelTable t)
    {
        _ = t;
    }
}
