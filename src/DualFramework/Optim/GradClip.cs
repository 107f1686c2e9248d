using DualFramework.Autodiff;
using DualFramework.NN;

namespace DualFramework.Optim;

/// <summary>Gradient clipping.</summary>
public static class GradClip
{
    /// <summary>
    /// Scales all gradients by <c>min(1, maxNorm / (‖g‖ + 1e-6))</c>, where ‖g‖ is the L2 norm of all gradients together
    /// (PyTorch's clip_grad_norm_). Returns the norm before clipping.
    /// </summary>
    public static double ClipByGlobalNorm(IEnumerable<Variable> parameters, double maxNorm)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "must be positive");
        var ps = parameters.Where(p => p.Grad != null).ToArray();
        if (ps.Length == 0) return 0;
        using var scope = TensorScope.Begin();
        using var noGrad = Autograd.NoGrad();
        Tensor? total = null;
        foreach (var p in ps)
        {
            var g = Ops.Cast(p.Grad!, DType.Float64);
            var s = Ops.Sum(Ops.Mul(g, g));
            total = total == null ? s : Ops.Add(total, s);
        }
        double norm = Math.Sqrt(total!.Item());
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1)
            foreach (var p in ps)
            {
                var old = p.Grad!;
                // With native autograd the new gradient lives on in libtorch once set (the scoped handle may go); on the
                // tape the setter takes ownership and the replaced gradient, owned by the parameter, must be freed.
                p.Value.Grad = Ops.Mul(old, coef);
                if (!Autograd.UsesNative(p.Value.Backend)) old.Dispose();
            }
        return norm;
    }
}
