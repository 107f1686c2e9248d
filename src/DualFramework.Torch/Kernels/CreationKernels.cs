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
            using var value = Sc(f.Value, f.DType);
            return torch.full(f.Shape, value, St(f.DType), dev);
        });
        t.Add(OpSet.Arange, (_, a, o) =>
        {
            var r = (ArangeAttrs)a;
            long n = o[0].Shape[0];
            // Element i = start + i·step from the inferred length: libtorch sizes integer ranges from a truncated stop,
            // which can disagree with the NumPy length rule of Infer.
            bool integer = r.DType.IsInteger();
            var work = integer ? torch.ScalarType.Int64 : torch.ScalarType.Float64;
            using var zero = Sc(0L);
            using var end = Sc(n);
            using var one = Sc(1L);
            using var step = integer ? Sc((long)r.Step) : Sc(r.Step);
            using var start = integer ? Sc((long)r.Start) : Sc(r.Start);
            using var idx = torch.arange(zero, end, one, work, dev);
            using var scaled = idx.mul(step);
            var values = scaled.add(start, One);
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
