using DualFramework.Operators;
using TorchSharp;
using TT = TorchSharp.torch.Tensor;
using static DualFramework.Torch.K;
using F = TorchSharp.torch.nn.functional;

namespace DualFramework.Torch;

/// <summary>Kernels of the matmul, convolution, pooling, gather_elements and scatter_add ops.</summary>
internal static class ConvKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.MatMul, (x, _, _) => torch.matmul(In(x, 0), In(x, 1)));

        t.Add(OpSet.Linear, (x, _, _) => F.linear(In(x, 0), In(x, 1), x.Length == 3 ? In(x, 2) : null));
        t.Add(OpSet.Conv, (x, a, _) =>
        {
            var c = (ConvAttrs)a;
            var bias = x.Length == 3 ? In(x, 2) : null;
            return c.SpatialRank == 1
                ? F.conv1d(In(x, 0), In(x, 1), bias, c.Stride[0], c.Padding[0], c.Dilation[0], c.Groups)
                : F.conv2d(In(x, 0), In(x, 1), bias, c.Stride, c.Padding, c.Dilation, c.Groups);
        });
        t.Add(OpSet.ConvTranspose, (x, a, _) =>
        {
            var c = (ConvTransposeAttrs)a;
            var bias = x.Length == 3 ? In(x, 2) : null;
            return c.SpatialRank == 1
                ? F.conv_transpose1d(In(x, 0), In(x, 1), bias, c.Stride[0], c.Padding[0], c.OutputPadding[0], c.Dilation[0], c.Groups)
                : F.conv_transpose2d(In(x, 0), In(x, 1), bias, c.Stride, c.Padding, c.OutputPadding, c.Dilation, c.Groups);
        });

        t.Add(OpSet.MaxPool2d, (x, a, _) =>
        {
            var p = (MaxPool2dAttrs)a;
            var (values, indices) = F.max_pool2d_with_indices(In(x, 0), p.Kernel, p.Stride, p.Padding, p.Dilation, p.CeilMode);
            return new object[] { values, indices };
        });
        t.Add(OpSet.MaxUnpool2d, (x, a, _) =>
        {
            // A scatter into each zero plane: TorchSharp 0.107's max_unpool2d loses its output_size on the way to libtorch.
            var p = (MaxUnpool2dAttrs)a;
            var s = x[0].Shape;
            CheckIndex(x, "max_unpool2d", In(x, 1), p.OutH * p.OutW, 2);
            using var planes = torch.zeros([s[0], s[1], p.OutH * p.OutW], In(x, 0).dtype);
            using var at = In(x, 1).reshape(s[0], s[1], -1);
            using var values = In(x, 0).reshape(s[0], s[1], -1);
            using var y = planes.scatter_(2, at, values);
            return y.reshape(s[0], s[1], p.OutH, p.OutW);
        });
        t.Add(OpSet.AvgPool2d, (x, a, _) =>
        {
            var p = (AvgPool2dAttrs)a;
            return F.avg_pool2d(In(x, 0), p.Kernel, p.Stride, p.Padding, ceil_mode: false, count_include_pad: p.CountIncludePad);
        });
        t.Add(OpSet.AdaptiveAvgPool2d, (x, a, _) =>
        {
            var p = (AdaptivePool2dAttrs)a;
            return F.adaptive_avg_pool2d(In(x, 0), [p.OutH, p.OutW]);
        });

        t.Add(OpSet.GatherElements, (x, a, _) =>
        {
            int axis = ((IndexAxisAttrs)a).Axis;
            CheckIndex(x, "gather_elements", In(x, 1), x[0].Shape[axis], axis);
            return In(x, 0).gather(axis, In(x, 1));
        });
        t.Add(OpSet.ScatterAdd, (x, a, _) =>
        {
            int axis = ((IndexAxisAttrs)a).Axis;
            CheckIndex(x, "scatter_add", In(x, 1), x[0].Shape[axis], axis);
            return In(x, 0).scatter_add(axis, In(x, 1), In(x, 2));
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
