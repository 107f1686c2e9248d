using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>One Adam update of parameter <paramref name="p"/> with gradient <paramref name="g"/> and moments
    /// <paramref name="m"/>, <paramref name="v"/> at step <paramref name="step"/> (1-based); returns (p′, m′, v′).
    /// <paramref name="inPlace"/>: see <see cref="AdamUpdateAttrs.InPlace"/>.</summary>
    public static (Tensor Param, Tensor ExpAvg, Tensor ExpAvgSq) AdamUpdate(Tensor p, Tensor g, Tensor m, Tensor v,
        double learningRate, double beta1, double beta2, double eps, long step, bool inPlace = false)
    {
        if (step < 1) throw new OpException("adam_update", [p.Spec, g.Spec, m.Spec, v.Spec], $"step {step} must be at least 1", LayerPath.Current);
        double bc1 = 1 - Math.Pow(beta1, step), bc2 = 1 - Math.Pow(beta2, step);
        var outs = Dispatcher.ApplyMulti(OpSet.AdamUpdate, new AdamUpdateAttrs(learningRate / bc1, beta1, beta2, Math.Sqrt(bc2), eps, inPlace), p, g, m, v);
        return (outs[0], outs[1], outs[2]);
    }
}
