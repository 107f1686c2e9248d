using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the onehot family (<c>OpSet.OneHot.cs</c>): OneHot.</summary>
internal static class OneHotKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.OneHot, (x, h, o) =>
        {
            var idx = Operand(x, 0);
            // libtorch's one_hot takes int64 indices only and returns int64.
            using var i64 = idx.dtype == torch.ScalarType.Int64 ? null : idx.to_type(torch.ScalarType.Int64);
            var encoded = torch.nn.functional.one_hot(i64 ?? idx, h.Depth);
            if (encoded.dtype == ScalarTypeOf(o[0].DType)) return encoded;
            using (encoded) return encoded.to_type(ScalarTypeOf(o[0].DType));
        });
    }
}
