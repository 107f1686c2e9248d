using System.Runtime.InteropServices;
using DualFramework.Torch.Native;
using TorchSharp;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>
/// LibTorchSharp entry points called directly, where TorchSharp's managed wrapper takes plain numbers and turns them into
/// <see cref="Scalar"/> temporaries that nothing keeps alive during the native call (a collection can free them while
/// libtorch reads them). Here the native scalars are created, passed and freed around the call by this class alone.
/// </summary>
internal static unsafe class NativeCalls
{
    private static readonly Lazy<Entries> Glue = new(() => new Entries(TorchNativeLoader.GlueHandle()));

    /// <summary>libtorch's <c>softplus(x, beta, threshold)</c> (differentiable through libtorch autograd).</summary>
    public static TT Softplus(TT x, double beta, double threshold)
    {
        var e = Glue.Value;
        nint b = e.Float64ToScalar(beta), t = e.Float64ToScalar(threshold), result;
        try
        {
            result = e.Softplus(x.Handle, b, t);
            GC.KeepAlive(x);
        }
        finally
        {
            e.DisposeScalar(b);
            e.DisposeScalar(t);
        }
        if (result == 0) torch.CheckForErrors();
        return TT.UnsafeCreateTensor(result);
    }

    private sealed class Entries(nint lib)
    {
        public readonly delegate* unmanaged<double, nint> Float64ToScalar = (delegate* unmanaged<double, nint>)NativeLibrary.GetExport(lib, "THSTorch_float64_to_scalar");
        public readonly delegate* unmanaged<nint, void> DisposeScalar = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(lib, "THSTorch_dispose_scalar");
        public readonly delegate* unmanaged<nint, nint, nint, nint> Softplus = (delegate* unmanaged<nint, nint, nint, nint>)NativeLibrary.GetExport(lib, "THSTensor_softplus");
    }
}
