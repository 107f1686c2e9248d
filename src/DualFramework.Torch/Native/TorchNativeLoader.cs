namespace DualFramework.Torch;

// Placeholder: replaced by the real loader.
internal static class TorchNativeLoader
{
    public static void EnsureLoaded() { }
}
