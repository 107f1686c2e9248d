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
            var input = Operand(x, 0);
            var (values, indices) = p.SpatialRank switch
            {
                1 => F.max_pool1d_with_indices(input, p.Kernel[0], p.Stride[0], p.Padding[0], p.Dilation[0], p.CeilMode),
                2 => F.max_pool2d_with_indices(input, p.Kernel, p.Stride, p.Padding, p.Dilation, p.CeilMode),
                _ => F.max_pool3d_with_indices(input, p.Kernel, p.Stride, p.Padding, p.Dilation, p.CeilMode),
            };
            return new object[] { values, indices };
        });
        t.Add(OpSet.MaxUnpool2d, (x, p, _) =>
        {
            // A scatter into each zero volume: TorchSharp 0.107's max_unpool2d loses its output_size on the way to libtorch.
            var s = x[0].Shape;
            long volume = p.OutSize.Aggregate(1L, (a, v) => a * v);
            ScatterKernels.CheckIndex(x, "max_unpool2d", Operand(x, 1), volume, 2);
            using var planes = torch.zeros([s[0], s[1], volume], Operand(x, 0).dtype);
            using var at = Operand(x, 1).reshape(s[0], s[1], -1);
            using var values = Operand(x, 0).reshape(s[0], s[1], -1);
            using var y = planes.scatter_(2, at, values);
            return y.reshape([s[0], s[1], .. p.OutSize]);
        });
        t.Add(OpSet.AvgPool2d, (x, p, _) =>
        {
            var input = Operand(x, 0);
            if (input.dtype is not (torch.ScalarType.Float16 or torch.ScalarType.BFloat16)) return AvgPool(input, p);
            // Half precision pools in float32 (exact widening) and rounds once: libtorch's CPU avg_pool3d has no such kernel,
            // and after its bfloat16 avg_pool1d/2d in ceil mode later bfloat16 convolutions returned wrong values in tests.
            using var wide = input.to(torch.ScalarType.Float32);
            using var y = AvgPool(wide, p);
            return y.to(input.dtype);
        });
        t.Add(OpSet.AdaptiveAvgPool2d, (x, p, _) =>
        {
            return F.adaptive_avg_pool2d(Operand(x, 0), [p.OutH, p.OutW]);
        });
    }

    private static TT AvgPool(TT x, AvgPool2dAttrs p) => p.SpatialRank switch
    {
        1 => F.avg_pool1d(x, p.Kernel[0], p.Stride[0], p.Padding[0], ceil_mode: p.CeilMode, count_include_pad: p.CountIncludePad),
        2 => F.avg_pool2d(x, p.Kernel, p.Stride, p.Padding, ceil_mode: p.CeilMode, count_include_pad: p.CountIncludePad),
        _ => F.avg_pool3d(x, p.Kernel, p.Stride, p.Padding, ceil_mode: p.CeilMode, count_include_pad: p.CountIncludePad),
    };
}
