using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using F = TorchSharp.torch.nn.functional;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the pool family (<c>OpSet.Pool.cs</c>): AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, MaxUnpool2d.</summary>
internal static class PoolKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.MaxPool2d, (x, p, _) =>
        {
            var (values, indices) = F.max_pool2d_with_indices(Operand(x, 0), p.Kernel, p.Stride, p.Padding, p.Dilation, p.CeilMode);
            return new object[] { values, indices };
        });
        t.Add(OpSet.MaxUnpool2d, (x, p, _) =>
        {
            // A scatter into each zero plane: TorchSharp 0.107's max_unpool2d loses its output_size on the way to libtorch.
            var s = x[0].Shape;
            ScatterKernels.CheckIndex(x, "max_unpool2d", Operand(x, 1), p.OutH * p.OutW, 2);
            using var planes = torch.zeros([s[0], s[1], p.OutH * p.OutW], Operand(x, 0).dtype);
            using var at = Operand(x, 1).reshape(s[0], s[1], -1);
            using var values = Operand(x, 0).reshape(s[0], s[1], -1);
            using var y = planes.scatter_(2, at, values);
            return y.reshape(s[0], s[1], p.OutH, p.OutW);
        });
        t.Add(OpSet.AvgPool2d, (x, p, _) =>
        {
            return F.avg_pool2d(Operand(x, 0), p.Kernel, p.Stride, p.Padding, ceil_mode: false, count_include_pad: p.CountIncludePad);
        });
        t.Add(OpSet.AdaptiveAvgPool2d, (x, p, _) =>
        {
            return F.adaptive_avg_pool2d(Operand(x, 0), [p.OutH, p.OutW]);
        });
    }
}
