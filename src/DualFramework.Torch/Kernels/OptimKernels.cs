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
            if (u.InPlace)
            {
                // The caller owns p, m and v: update their storage (no allocation of three parameter-sized buffers per
                // step, which on glibc also means no page-fault churn) and hand back fresh leaf handles to it.
                m.mul_(u.Beta1).add_(g, 1 - u.Beta1);
                v.mul_(u.Beta2).addcmul_(g, g, 1 - u.Beta2);
                using (var d = v.sqrt().div_(u.SqrtBiasCorrection2).add_(u.Eps)) p.detach().addcdiv_(m, d, -u.StepSize).Dispose();
                return new object[] { p.detach(), m.detach(), v.detach() };
            }
            // Fresh outputs (inputs are immutable), then in-place arithmetic on them only.
            var m2 = m.mul(u.Beta1).add_(g, 1 - u.Beta1);
            var v2 = v.mul(u.Beta2).addcmul_(g, g, 1 - u.Beta2);
            using var denom = v2.sqrt().div_(u.SqrtBiasCorrection2).add_(u.Eps);
            var p2 = p.addcdiv(m2, denom, -u.StepSize);
            return new object[] { p2, m2, v2 };
        });
    }
}
