using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    /// <summary>The one non-default domain the importer accepts, for its optimizer ops only.</summary>
    internal const string TrainingDomain = "ai.onnx.preview.training";

    private sealed partial class Builder
    {
        /// <summary>The <c>ai.onnx.preview.training</c> optimizer ops (Adagrad, Adam, Momentum), composed from elementwise
        /// ops by their schemas' formulas. Each updates n tensors at once: inputs R, T, then n X, n G and n of each state;
        /// outputs n new X, then n of each new state. R (learning rate) and T (update count) are run-time scalars.</summary>
        private void AddTraining()
        {
            Map($"{TrainingDomain}.Adagrad", _ =>
            {
                var (r, t, groups) = OptimizerInputs(3);
                // r = R / (1 + T·decay_factor)
                var lr = Bin(OpSet.Div, r, Bin(OpSet.Add, Sc(1, r), Bin(OpSet.Mul, t, Sc(Float("decay_factor", 0), t))));
                double norm = Float("norm_coefficient", 0), eps = Float("epsilon", 1e-6f);
                var outs = new List<Value>[2] { [], [] };
                foreach (var g in groups)
                {
                    Value x = g[0], grad = Regularized(x, g[1], norm), h = Bin(OpSet.Add, g[2], Bin(OpSet.Mul, grad, grad));
                    var adaptive = Bin(OpSet.Add, Un(OpSet.Sqrt, h), Sc(eps, h));
                    outs[0].Add(Bin(OpSet.Sub, x, Bin(OpSet.Div, Bin(OpSet.Mul, CastTo(lr, x.Spec.DType), grad), adaptive)));
                    outs[1].Add(h);
                }
                return OptimizerOutputs(outs);
            });
            Map($"{TrainingDomain}.Adam", _ =>
            {
                var (r, t, groups) = OptimizerInputs(4);
                double alpha = Float("alpha", 0.9f), beta = Float("beta", 0.999f), eps = Float("epsilon", 1e-6f); // the schema's defaults
                double norm = Float("norm_coefficient", 0), post = Float("norm_coefficient_post", 0);
                // R_adjusted = T > 0 ? R·sqrt(1 − β^T) / (1 − α^T) : R (the unselected branch is 0/0 at T = 0)
                Value Power(double b) => Bin(OpSet.Sub, Sc(1, t), Bin(OpSet.Pow, Sc(b, t), t));
                var adjusted = Select(Bin(OpSet.Greater, t, Sc(0, t)), Bin(OpSet.Div, Bin(OpSet.Mul, r, Un(OpSet.Sqrt, Power(beta))), Power(alpha)), r);
                var outs = new List<Value>[3] { [], [], [] };
                foreach (var g in groups)
                {
                    Value x = g[0], grad = Regularized(x, g[1], norm);
                    var v = Bin(OpSet.Add, Bin(OpSet.Mul, g[2], Sc(alpha, x)), Bin(OpSet.Mul, grad, Sc(1 - alpha, x)));
                    var h = Bin(OpSet.Add, Bin(OpSet.Mul, g[3], Sc(beta, x)), Bin(OpSet.Mul, Bin(OpSet.Mul, grad, grad), Sc(1 - beta, x)));
                    var hs = Bin(OpSet.Add, Un(OpSet.Sqrt, h), Sc(eps, h));
                    var xNew = Bin(OpSet.Sub, x, Bin(OpSet.Div, Bin(OpSet.Mul, CastTo(adjusted, x.Spec.DType), v), hs));
                    outs[0].Add(post == 0 ? xNew : Bin(OpSet.Mul, xNew, Sc(1 - post, x)));
                    outs[1].Add(v);
                    outs[2].Add(h);
                }
                return OptimizerOutputs(outs);
            });
            Map($"{TrainingDomain}.Momentum", _ =>
            {
                var (r, t, groups) = OptimizerInputs(3);
                if (Attr("alpha") == null || Attr("beta") == null || Attr("mode") == null || Attr("norm_coefficient") == null)
                    throw Bad("alpha, beta, mode and norm_coefficient are required");
                double alpha = Float("alpha", 0), beta = Float("beta", 0), norm = Float("norm_coefficient", 0);
                string mode = Str("mode", "");
                if (mode is not ("standard" or "nesterov")) throw Bad($"mode '{mode}' is not supported (standard or nesterov)");
                // β is 1 at the first update (T = 0).
                var betaAdjusted = Select(Bin(OpSet.Greater, t, Sc(0, t)), Sc(beta, t), Sc(1, t));
                var outs = new List<Value>[2] { [], [] };
                foreach (var g in groups)
                {
                    Value x = g[0], grad = Regularized(x, g[1], norm);
                    var v = Bin(OpSet.Add, Bin(OpSet.Mul, g[2], Sc(alpha, x)), Bin(OpSet.Mul, grad, CastTo(betaAdjusted, x.Spec.DType)));
                    var step = mode == "standard" ? v : Bin(OpSet.Add, grad, Bin(OpSet.Mul, v, Sc(alpha, x)));
                    outs[0].Add(Bin(OpSet.Sub, x, Bin(OpSet.Mul, CastTo(r, x.Spec.DType), step)));
                    outs[1].Add(v);
                }
                return OptimizerOutputs(outs);
            });
        }

        /// <summary>R and T (as float64 scalars, so α^T stays exact) and the per-tensor groups [X, G, states...] of an
        /// optimizer node whose tensors come in <paramref name="perTensor"/> lists.</summary>
        private (Value R, Value T, Value[][] Groups) OptimizerInputs(int perTensor)
        {
            var ins = Inputs();
            if (ins.Length < 2 + perTensor || (ins.Length - 2) % perTensor != 0)
                throw Bad($"{ins.Length} inputs; expected R, T and {perTensor} lists of equal length");
            Value r = ins[0], t = ins[1];
            if (r.Spec.Shape.Rank != 0 || t.Spec.Shape.Rank != 0) throw Bad($"R {r.Spec.Shape} and T {t.Spec.Shape} must be scalars");
            if (!r.Spec.DType.IsFloating()) throw Bad($"R of dtype {r.Spec.DType.Name()} is not supported (floating only)");
            int n = (ins.Length - 2) / perTensor;
            var groups = Enumerable.Range(0, n).Select(i => Enumerable.Range(0, perTensor).Select(k => ins[2 + k * n + i]).ToArray()).ToArray();
            foreach (var g in groups)
                foreach (var v in g)
                    if (v.Spec.DType != g[0].Spec.DType || !v.Spec.DType.IsFloating())
                        throw Bad($"optimized tensors must share one floating dtype, got {string.Join(", ", g.Select(u => u.Spec.DType.Name()))}");
            return (CastTo(r, DType.Float64), CastTo(t, DType.Float64), groups);
        }

        // G + norm_coefficient·X: the gradient of 0.5·norm_coefficient·‖X‖² added.
        private Value Regularized(Value x, Value grad, double norm) => norm == 0 ? grad : Bin(OpSet.Add, grad, Bin(OpSet.Mul, x, Sc(norm, x)));

        /// <summary>Returns the first output list's first value; the rest, in order, become the node's further outputs.</summary>
        private Value OptimizerOutputs(List<Value>[] lists)
        {
            var all = lists.SelectMany(l => l).ToArray();
            if (all.Length < _n.Output.Count) throw Bad($"{_n.Output.Count} outputs; expected at most {all.Length}");
            _more.AddRange(all[1..]);
            return all[0];
        }
    }
}
