namespace DualFramework.Torch;

/// <summary>Kernels of take (gather along an axis with an index tensor: index_select, embedding).</summary>
internal static class IndexingKernels
{
    public static void Register(KernelTable t)
    {
        _ = t;
    }
}
