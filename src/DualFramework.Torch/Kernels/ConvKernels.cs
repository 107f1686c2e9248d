using DualFramework.Operators;
using TorchSharp;
using TT = TorchSharp.torch.Tensor;
using static DualFramework.Torch.KernelHelpers;
using F = TorchSharp.torch.nn.functional;

namespace DualFramework.Torch;

/// <summary>Kernels of the matmul, convolution, pooling, gather_elements and scatter_add ops.</summary>
internal static class ConvKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.MatMul, (x, _, _) => torch.matmul(Operand(x, 0), Operand(x, 1)));

        t.Add(OpSet.Linear, (x, _, _) => F.linear(Operand(x, 0), Operand(x, 1), x.Length == 3 ? Operand(x, 2) : null));
        t.Add(OpSet.Conv, (x, a, _) =>
        {
            var c = (ConvAttrs)a;
            var bias = x.Length == 3 ? Operand(x, 2) : null;
            return c.SpatialRank == 1
                ? F.conv1d(Operand(x, 0), Operand(x, 1), bias, c.Stride[0], c.Padding[0], c.Dilation[0], c.Groups)
                : F.conv2d(Operand(x, 0), Operand(x, 1), bias, c.Stride, c.Padding, c.Dilation, c.Groups);
        });
        t.Add(OpSet.ConvTranspose, (x, a, _) =>
        {
            var c = (ConvTransposeAttrs)a;
            var bias = x.Length == 3 ? Operand(x, 2) : null;
            return c.SpatialRank == 1
                ? F.conv_transpose1d(Operand(x, 0), Operand(x, 1), bias, c.Stride[0], c.Padding[0], c.OutputPadding[0], c.Dilation[0], c.Groups)
                : F.conv_transpose2d(Operand(x, 0), Operand(x, 1), bias, c.Stride, c.Padding, c.OutputPadding, c.Dilation, c.Groups);
        });

        t.Add(OpSet.MaxPool2d, (x, a, _) =>
        {
            var p = (MaxPool2dAttrs)a;
            var (values, indices) = F.max_pool2d_with_indices(Operand(x, 0), p.Kernel, p.Stride, p.Padding, p.Dilation, p.CeilMode);
            return new object[] { values, indices };
        });
        t.Add(OpSet.AvgPool2d, (x, a, _) =>
        {
            var p = (AvgPool2dAttrs)a;
            return F.avg_pool2d(Operand(x, 0), p.Kernel, p.Stride, p.Padding, ceil_mode: false, count_include_pad: p.CountIncludePad);
        });
        t.Add(OpSet.AdaptiveAvgPool2d, (x, a, _) =>
        {
            var p = (AdaptivePool2dAttrs)a;
            return F.adaptive_avg_pool2d(Operand(x, 0), [p.OutH, p.OutW]);
        });

        t.Add(OpSet.GatherElements, (x, a, _) =>
        {
            int axis = ((IndexAxisAttrs)a).Axis;
            CheckIndex(x, "gather_elements", Operand(x, 1), x[0].Shape[axis], axis);
            return Operand(x, 0).gather(axis, Operand(x, 1));
        });
        t.Add(OpSet.ScatterAdd, (x, a, _) =>
        {
            int axis = ((IndexAxisAttrs)a).Axis;
            CheckIndex(x, "scatter_add", Operand(x, 1), x[0].Shape[axis], axis);
            return Operand(x, 0).scatter_add(axis, Operand(x, 1), Operand(x, 2));
        });
    }

    // Index values are data, so the shape rule cannot see them; libtorch would abort (CUDA) or throw an opaque error.
    private static void CheckIndex(ReadOnlySpan<Tensor> inputs, string op, TT index, long size, int axis)
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
