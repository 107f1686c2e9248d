using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using F = TorchSharp.torch.nn.functional;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the conv family (<c>OpSet.Conv.cs</c>): Conv, ConvTranspose.</summary>
internal static class ConvKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.Conv, (x, c, _) =>
        {
            var bias = x.Length == 3 ? Operand(x, 2) : null;
            return c.SpatialRank switch
            {
                1 => F.conv1d(Operand(x, 0), Operand(x, 1), bias, c.Stride[0], c.Padding[0], c.Dilation[0], c.Groups),
                2 => F.conv2d(Operand(x, 0), Operand(x, 1), bias, c.Stride, c.Padding, c.Dilation, c.Groups),
                _ => F.conv3d(Operand(x, 0), Operand(x, 1), bias, c.Stride, c.Padding, c.Dilation, c.Groups),
            };
        });
        t.Add(OpSet.ConvTranspose, (x, c, _) =>
        {
            var bias = x.Length == 3 ? Operand(x, 2) : null;
            return c.SpatialRank switch
            {
                1 => F.conv_transpose1d(Operand(x, 0), Operand(x, 1), bias, c.Stride[0], c.Padding[0], c.OutputPadding[0], c.Dilation[0], c.Groups),
                2 => F.conv_transpose2d(Operand(x, 0), Operand(x, 1), bias, c.Stride, c.Padding, c.OutputPadding, c.Dilation, c.Groups),
                _ => F.conv_transpose3d(Operand(x, 0), Operand(x, 1), bias, c.Stride, c.Padding, c.OutputPadding, c.Dilation, c.Groups),
            };
        });
    }
}
