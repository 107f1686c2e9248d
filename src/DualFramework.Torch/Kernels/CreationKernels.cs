using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.K;

namespace DualFramework.Torch;

/// <summary>Kernels of the creation ops.</summary>
internal static class CreationKernels
{
    public static void Register(KernelTable t)
    {
        var dev = t.Backend.TorchDevice;
        t.Add(OpSet.Full, (_, a, _) =>
        {
            var f = (FullAttrs)a;
            return torch.full(f.Shape, Sc(f.Value, f.DType), St(f.DType), dev);
        });
        t.Add(OpSet.Arange, (_, a, o) =>
        {
            var r = (ArangeAttrs)a;
            long n = o[0].Shape[0];
            // Element i = start + i·step from the inferred length: libtorch sizes integer ranges from a truncated stop,
            // which can disagree with the NumPy length rule of Infer.
            bool integer = r.DType.IsInteger();
            var work = integer ? torch.ScalarType.Int64 : torch.ScalarType.Float64;
            using var idx = torch.arange(0L, n, 1L, work, dev);
            using var scaled = integer ? idx.mul((long)r.Step) : idx.mul(r.Step);
            var values = integer ? scaled.add((long)r.Start) : scaled.add(r.Start);
            if (values.dtype == St(r.DType)) return values;
            using (values) return values.to_type(St(r.DType));
        });
        t.Add(OpSet.Eye, (_, a, _) =>
        {
            var e = (EyeAttrs)a;
            return torch.eye(e.Rows, e.Cols, St(e.DType), dev);
        });
    }
}
