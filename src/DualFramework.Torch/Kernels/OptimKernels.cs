using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the optim family (<c>OpSet.Optim.cs</c>): AdamUpdate.</summary>
internal static class OptimKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.AdamUpdate, (x, u, _) =>
        {
            var (p, g, m, v) = (Operand(x, 0), Operand(x, 1), Operand(x, 2), Operand(x, 3));
            // Owned scalars, disposed after the calls that read them (see Sc).
            using var beta1 = Float64Scalar(u.Beta1);
            using var beta2 = Float64Scalar(u.Beta2);
            using var oneMinusBeta1 = Float64Scalar(1 - u.Beta1);
            using var oneMinusBeta2 = Float64Scalar(1 - u.Beta2);
            using var sqrtBc2 = Float64Scalar(u.SqrtBiasCorrection2);
            using var eps = Float64Scalar(u.Eps);
            using var minusStep = Float64Scalar(-u.StepSize);
            if (u.InPlace)
            {
                // The caller owns p, m and v: update their storage (no allocation of three parameter-sized buffers per
                // step, which on glibc also means no page-fault churn) and hand back fresh leaf handles to it.
                m.mul_(beta1).add_(g, oneMinusBeta1);
                v.mul_(beta2).addcmul_(g, g, oneMinusBeta2);
                using (var d = v.sqrt().div_(sqrtBc2).add_(eps, ScalarOne))
                using (var pd = p.detach())
                    pd.addcdiv_(m, d, minusStep);
                return new object[] { p.detach(), m.detach(), v.detach() };
            }
            // Fresh outputs (inputs are immutable), then in-place arithmetic on them only.
            var m2 = m.mul(beta1).add_(g, oneMinusBeta1);
            var v2 = v.mul(beta2).addcmul_(g, g, oneMinusBeta2);
            using var denom = v2.sqrt().div_(sqrtBc2).add_(eps, ScalarOne);
            var p2 = p.addcdiv(m2, denom, minusStep);
            return new object[] { p2, m2, v2 };
        });
    }
}
