using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the norm family (<c>OpSet.Norm.cs</c>): BatchNorm, Dropout, LayerNorm.</summary>
internal static class NormKernels
{
    public static void Register(KernelTable t)
    {
        var dev = t.Backend.TorchDevice;
        t.Add(OpSet.BatchNorm, (x, b, _) =>
        {
            var input = Operand(x, 0);
            if (!b.Training)
            {
                // Running statistics are not differentiable (as in PyTorch), so detach them from libtorch autograd.
                var rm = Operand(x, 3).detach();
                var rv = Operand(x, 4).detach();
                var y = torch.nn.functional.batch_norm(input, rm, rv, Operand(x, 1), Operand(x, 2), false, 0.0, b.Eps);
                return new object[] { y, rm, rv };
            }
            // No running buffers: libtorch would update them in place. The stats outputs are computed separately.
            var yt = torch.nn.functional.batch_norm(input, null!, null!, Operand(x, 1), Operand(x, 2), true, 0.0, b.Eps);
            var dims = Enumerable.Range(0, x[0].Rank).Where(d => d != 1).Select(d => (long)d).ToArray();
            using var noGrad = torch.no_grad();
            var (var, mean) = torch.var_mean(input, dims, unbiased: true);
            return new object[] { yt, mean, var };
        });
        t.Add(OpSet.LayerNorm, (x, l, _) =>
        {
            var input = Operand(x, 0);
            var shape = x[0].Shape.Dims[(x[0].Rank - l.NormalizedRank)..].ToArray();
            var w = l.HasWeight ? Operand(x, 1) : null;
            var bias = l.HasBias ? Operand(x, l.HasWeight ? 2 : 1) : null;
            return torch.nn.functional.layer_norm(input, shape, w!, bias!, l.Eps);
        });
        t.Add(OpSet.Dropout, (x, d, _) =>
        {
            var input = Operand(x, 0);
            // The mask depends only on the seed and the shape: uniforms drawn in float32 whatever x's dtype.
            torch.Tensor mask;
            using (torch.no_grad())
            {
                using var u = torch.rand(input.shape, torch.ScalarType.Float32, dev, generator: RandomKernels.Seeded(d.Seed, dev));
                using var p = Float64Scalar(d.P);
                mask = u.ge(p);
            }
            using var scale = Float64Scalar(DropoutOp.Scale(d.P));
            using var zero = ScalarFor(0, x[0].DType);
            using var scaled = input.mul(scale);
            using var drop = mask.logical_not();
            var y = scaled.masked_fill(drop, zero);
            return new object[] { y, mask };
        });
    }
}
