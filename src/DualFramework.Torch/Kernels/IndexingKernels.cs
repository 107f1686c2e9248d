namespace DualFramework.Torch;

/// <summary>Kernels of the indexing ops (gather, take, scatter_add, one_hot…).</summary>
internal static class IndexingKernels
{
    public static void Register(KernelTable t)
    {
        _ = t;
    }
}
