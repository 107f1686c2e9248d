using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the creation family (<c>OpSet.Creation.cs</c>): Arange, Eye, Full.</summary>
internal static class CreationKernels
{
    public static void Register(KernelTable t)
    {
        var dev = t.Backend.TorchDevice;
        t.Add(OpSet.Full, (_, f, _) =>
        {
            using var value = ScalarFor(f.Value, f.DType);
            return torch.full(f.Shape, value, ScalarTypeOf(f.DType), dev);
        });
        t.Add(OpSet.Arange, (_, r, o) =>
        {
            long n = o[0].Shape[0];
            // Element i = start + i·step from the inferred length: libtorch sizes integer ranges from a truncated stop,
            // which can disagree with the NumPy length rule of Infer.
            bool integer = r.DType.IsInteger();
            var work = integer ? torch.ScalarType.Int64 : torch.ScalarType.Float64;
            using var zero = Int64Scalar(0L);
            using var end = Int64Scalar(n);
            using var one = Int64Scalar(1L);
            using var step = integer ? Int64Scalar((long)r.Step) : Float64Scalar(r.Step);
            using var start = integer ? Int64Scalar((long)r.Start) : Float64Scalar(r.Start);
            using var idx = torch.arange(zero, end, one, work, dev);
            using var scaled = idx.mul(step);
            var values = scaled.add(start, ScalarOne);
            if (values.dtype == ScalarTypeOf(r.DType)) return values;
            using (values) return values.to_type(ScalarTypeOf(r.DType));
        });
        t.Add(OpSet.Eye, (_, e, _) =>
        {
            return torch.eye(e.Rows, e.Cols, ScalarTypeOf(e.DType), dev);
        });
    }
}
