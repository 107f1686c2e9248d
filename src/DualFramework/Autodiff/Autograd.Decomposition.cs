using DualFramework.Operators;

namespace DualFramework.Autodiff;

public static partial class Autograd
{
    /// <summary>
    /// The gradient rule of an op given as the adjoint of a decomposition into other ops: runs
    /// <paramref name="decomposition"/> on detached copies of the operands with Core's tape recording, then runs the tape from
    /// the op's output gradients back to those copies. The result is built from ordinary ops, so it works on every backend and
    /// inside symbolic traces.
    /// </summary>
    /// <remarks>The gradients are not themselves differentiable with respect to the original operands (no second order).</remarks>
    internal static Tensor?[] GradOfDecomposition(GradContext ctx, Func<IReadOnlyList<Tensor>, Tensor[]> decomposition)
    {
        var inputs = ctx.Inputs;
        var operands = new Tensor[inputs.Count];
        var targets = new List<Tensor>();
        int savedNoGrad = _noGradDepth;
        _forceTapeDepth++;
        try
        {
            _noGradDepth = 1;
            for (int i = 0; i < inputs.Count; i++)
            {
                if (!ctx.NeedsGrad(i))
                {
                    operands[i] = inputs[i];
                    continue;
                }
                var leaf = Ops.StopGradient(inputs[i]);
                leaf.TapeRequiresGrad = true;
                operands[i] = leaf;
                targets.Add(leaf);
            }
            // Gradient rules run without recording; the decomposition must record to be differentiated.
            _noGradDepth = 0;
            var outputs = decomposition(operands);
            var roots = new List<Tensor>();
            var seeds = new List<Tensor?>();
            for (int j = 0; j < outputs.Length; j++)
            {
                if (ctx.OutputGrad(j) is not { } g) continue;
                roots.Add(outputs[j]);
                seeds.Add(g);
            }
            var grads = targets.Count == 0 || roots.Count == 0
                ? new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance)
                : RunTape(roots.ToArray(), seeds.ToArray(), targets.ToArray(), retainGraph: false, createGraph: false);
            return operands.Select((o, i) => ctx.NeedsGrad(i) ? grads.GetValueOrDefault(o) ?? Ops.ZerosLike(inputs[i]) : null).ToArray();
        }
        finally
        {
            _noGradDepth = savedNoGrad;
            _forceTapeDepth--;
        }
    }
}
