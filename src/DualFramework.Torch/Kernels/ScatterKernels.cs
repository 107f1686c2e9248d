using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the scatter family (<c>OpSet.Scatter.cs</c>): GatherElements, ScatterAdd.</summary>
internal static class ScatterKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.GatherElements, (x, a, _) =>
        {
            int axis = a.Axis;
            CheckIndex(x, "gather_elements", Operand(x, 1), x[0].Shape[axis], axis);
            return Operand(x, 0).gather(axis, Operand(x, 1));
        });
        t.Add(OpSet.ScatterAdd, (x, a, _) =>
        {
            int axis = a.Axis;
            CheckIndex(x, "scatter_add", Operand(x, 1), x[0].Shape[axis], axis);
            return Operand(x, 0).scatter_add(axis, Operand(x, 1), Operand(x, 2));
        });
    }

    // Index values are data, so the shape rule cannot see them; libtorch would abort (CUDA) or throw an opaque error.
    internal static void CheckIndex(ReadOnlySpan<Tensor> inputs, string op, TT index, long size, int axis)
    {
        if (index.numel() == 0) return;
        using var lo = index.min();
        using var hi = index.max();
        long min = lo.item<long>(), max = hi.item<long>();
        if (min < 0 || max >= size)
        {
            var specs = new TensorSpec[inputs.Length];
            for (int i = 0; i < specs.Length; i++) specs[i] = inputs[i].Spec;
            throw new OpException(op, specs, $"index values must lie in [0, {size}) along axis {axis}, got range [{min}, {max}]", LayerPath.Current);
        }
    }
}
