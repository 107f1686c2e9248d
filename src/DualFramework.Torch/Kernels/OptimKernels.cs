using DualFramework.Operators;
using static DualFramework.Torch.K;

namespace DualFramework.Torch;

/// <summary>Kernels of the fused optimizer ops.</summary>
internal static class OptimKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.AdamUpdate, (x, a, _) =>
        {
            var u = (AdamUpdateAttrs)a;
            var (p, g, m, v) = (In(x, 0), In(x, 1), In(x, 2), In(x, 3));
            // Owned scalars, disposed after the calls that read them (see K.Sc).
            using var beta1 = Sc(u.Beta1);
            using var beta2 = Sc(u.Beta2);
            using var oneMinusBeta1 = Sc(1 - u.Beta1);
            using var oneMinusBeta2 = Sc(1 - u.Beta2);
            using var sqrtBc2 = Sc(u.SqrtBiasCorrection2);
            using var eps = Sc(u.Eps);
            using var minusStep = Sc(-u.StepSize);
            if (u.InPlace)
            {
                // The caller owns p, m and v: update their storage (no allocation of three parameter-sized buffers per
                // step, which on glibc also means no page-fault churn) and hand back fresh leaf handles to it.
                m.mul_(beta1).add_(g, oneMinusBeta1);
                v.mul_(beta2).addcmul_(g, g, oneMinusBeta2);
                using (var d = v.sqrt().div_(sqrtBc2).add_(eps, One))
                using (var pd = p.detach())
                    pd.addcdiv_(m, d, minusStep);
                return new object[] { p.detach(), m.detach(), v.detach() };
            }
            // Fresh outputs (inputs are immutable), then in-place arithmetic on them only.
            var m2 = m.mul(beta1).add_(g, oneMinusBeta1);
            var v2 = v.mul(beta2).addcmul_(g, g, oneMinusBeta2);
            using var denom = v2.sqrt().div_(sqrtBc2).add_(eps, One);
            var p2 = p.addcdiv(m2, denom, minusStep);
            return new object[] { p2, m2, v2 };
        });
    }
}
