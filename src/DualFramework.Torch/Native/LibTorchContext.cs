using System.Runtime.InteropServices;

namespace DualFramework.Torch.Native;

/// <summary>
/// libtorch's global determinism switches (<c>at::Context</c>), which TorchSharp 0.107 does not expose
/// (<c>torch.use_deterministic_algorithms</c> throws NotImplementedException there). Resolved by their C++ names from
/// the loaded libtorch; member functions take the context as their first argument.
/// </summary>
internal static unsafe class LibTorchContext
{
    private static readonly Lazy<Entries?> Glue = new(Resolve);

    /// <summary>True when this platform's libtorch exports the switches (Itanium C++ names: Linux, macOS).</summary>
    public static bool IsAvailable => Glue.Value != null;

    /// <summary>Sets deterministic algorithms (libtorch then errors on ops without a deterministic kernel), oneDNN's
    /// deterministic mode, and the filling of uninitialised memory, as <c>torch.use_deterministic_algorithms</c>.</summary>
    public static void SetDeterministic(bool on)
    {
        var e = Glue.Value ?? throw new PlatformNotSupportedException("This libtorch build does not export at::Context's determinism switches.");
        nint context = e.GlobalContext();
        e.SetDeterministicAlgorithms(context, on ? (byte)1 : (byte)0, 0);
        e.SetDeterministicMkldnn(context, on ? (byte)1 : (byte)0);
        e.SetDeterministicFillUninitializedMemory(context, on ? (byte)1 : (byte)0);
    }

    /// <summary>libtorch's own reading of the deterministic-algorithms flag.</summary>
    public static bool DeterministicAlgorithms()
    {
        var e = Glue.Value ?? throw new PlatformNotSupportedException("This libtorch build does not export at::Context's determinism switches.");
        return e.DeterministicAlgorithms(e.GlobalContext()) != 0;
    }

    private static readonly Lazy<(nint Global, nint Set, nint Get, nint SetNnpack)?> MkldnnGlue = new(() =>
    {
        nint lib = TorchNativeLoader.GlueHandle();
        return NativeLibrary.TryGetExport(lib, "_ZN2at13globalContextEv", out var global)
            && NativeLibrary.TryGetExport(lib, "_ZN2at7Context20setUserEnabledMkldnnEb", out var set)
            && NativeLibrary.TryGetExport(lib, "_ZNK2at7Context17userEnabledMkldnnEv", out var get)
            && NativeLibrary.TryGetExport(lib, "_ZN2at7Context20setUserEnabledNNPACKEb", out var nnpack)
            ? (global, set, get, nnpack) : null;
    });

    /// <summary>True when libtorch exports its oneDNN switch (<c>torch.backends.mkldnn.enabled</c>).</summary>
    public static bool CanSwitchMkldnn => MkldnnGlue.Value != null;

    /// <summary>libtorch's <c>torch.backends.mkldnn.enabled</c>: whether convolutions (and a few other ops) may use oneDNN.</summary>
    public static bool MkldnnEnabled
    {
        get
        {
            var e = MkldnnGlue.Value ?? throw new PlatformNotSupportedException("This libtorch build does not export at::Context's oneDNN switch.");
            return ((delegate* unmanaged<nint, byte>)e.Get)(((delegate* unmanaged<nint>)e.Global)()) != 0;
        }
        set
        {
            var e = MkldnnGlue.Value ?? throw new PlatformNotSupportedException("This libtorch build does not export at::Context's oneDNN switch.");
            ((delegate* unmanaged<nint, byte, void>)e.Set)(((delegate* unmanaged<nint>)e.Global)(), value ? (byte)1 : (byte)0);
        }
    }

    /// <summary>libtorch's <c>torch.backends.nnpack.enabled</c>. Without oneDNN, libtorch tries NNPACK for convolutions and,
    /// on a CPU NNPACK does not support, prints "Could not initialize NNPACK" at every convolution.</summary>
    public static void SetNnpackEnabled(bool on)
    {
        var e = MkldnnGlue.Value ?? throw new PlatformNotSupportedException("This libtorch build does not export at::Context's NNPACK switch.");
        ((delegate* unmanaged<nint, byte, void>)e.SetNnpack)(((delegate* unmanaged<nint>)e.Global)(), on ? (byte)1 : (byte)0);
    }

    private static Entries? Resolve()
    {
        // dlsym on the glue's handle also searches its dependencies, libtorch_cpu among them.
        nint lib = TorchNativeLoader.GlueHandle();
        bool Get(string name, out nint f) => NativeLibrary.TryGetExport(lib, name, out f);
        if (!Get("_ZN2at13globalContextEv", out var global)
            || !Get("_ZN2at7Context26setDeterministicAlgorithmsEbb", out var algorithms)
            || !Get("_ZN2at7Context22setDeterministicMkldnnEb", out var mkldnn)
            || !Get("_ZN2at7Context39setDeterministicFillUninitializedMemoryEb", out var fill)
            || !Get("_ZNK2at7Context23deterministicAlgorithmsEv", out var query))
            return null;
        return new Entries(global, algorithms, mkldnn, fill, query);
    }

    private sealed class Entries(nint global, nint algorithms, nint mkldnn, nint fill, nint query)
    {
        public readonly delegate* unmanaged<nint> GlobalContext = (delegate* unmanaged<nint>)global;
        public readonly delegate* unmanaged<nint, byte, byte, void> SetDeterministicAlgorithms = (delegate* unmanaged<nint, byte, byte, void>)algorithms;
        public readonly delegate* unmanaged<nint, byte, void> SetDeterministicMkldnn = (delegate* unmanaged<nint, byte, void>)mkldnn;
        public readonly delegate* unmanaged<nint, byte, void> SetDeterministicFillUninitializedMemory = (delegate* unmanaged<nint, byte, void>)fill;
        public readonly delegate* unmanaged<nint, byte> DeterministicAlgorithms = (delegate* unmanaged<nint, byte>)query;
    }
}
