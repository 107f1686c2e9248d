namespace DualFramework.Torch;

/// <summary>Kernels of the random normal/uniform ops.</summary>
internal static class RandomKernels
{
    public static void Register(KernelTable t)
    {
        _ = t;
    }
}
