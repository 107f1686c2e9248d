using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the take family (<c>OpSet.Take.cs</c>): Take.</summary>
internal static class TakeKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.Take, (x, a, o) =>
        {
            int axis = a.Axis;
            var data = Operand(x, 0);
            long n = x[0].Shape[axis];
            using var flatView = Operand(x, 1).reshape(-1);
            using var flat = flatView.to_type(torch.ScalarType.Int64);
            bool negatives = false;
            if (flat.numel() > 0)
            {
                // Index values are data, unknown to the shape rule: check them here so libtorch never sees a bad index
                // (on CUDA that would be a device-side assert that poisons the context).
                using var lo = flat.min();
                using var hi = flat.max();
                long min = lo.item<long>(), max = hi.item<long>();
                if (min < -n || max >= n)
                    throw new OpException("take", [x[0].Spec, x[1].Spec],
                        $"index {(min < -n ? min : max)} is out of range for axis {axis} of size {n}", LayerPath.Current);
                negatives = min < 0;
            }
            using var idx = negatives ? Wrapped(flat, n) : flat.alias();
            using var picked = data.index_select(axis, idx);
            return picked.reshape(o[0].Shape.Raw);
        });
    }

    private static torch.Tensor Wrapped(torch.Tensor flat, long n)
    {
        using var zero = Int64Scalar(0L);
        using var size = Int64Scalar(n);
        using var negative = flat.lt(zero);
        using var shifted = flat.add(size, ScalarOne);
        return torch.where(negative, shifted, flat);
    }
}
