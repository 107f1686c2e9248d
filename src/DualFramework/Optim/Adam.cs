using DualFramework.NN;

namespace DualFramework.Optim;

/// <summary>
/// Adam (Kingma &amp; Ba) with PyTorch's semantics: bias-corrected moments, <c>eps</c> added after the square root,
/// optional L2 weight decay folded into the gradient, optional AMSGrad. <see cref="AdamW"/> decouples the decay.
/// </summary>
public class Adam : Optimizer
{
    /// <summary>Creates the optimizer.</summary>
    public Adam(IEnumerable<Variable> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0, bool amsgrad = false) : base(parameters, learningRate)
    {
        if (beta1 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "must be in [0, 1)");
        if (beta2 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "must be in [0, 1)");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "must be non-negative");
        if (weightDecay < 0) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "must be non-negative");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        AmsGrad = amsgrad;
    }

    /// <summary>Decay of the first moment.</summary>
    public double Beta1 { get; }
    /// <summary>Decay of the second moment.</summary>
    public double Beta2 { get; }
    /// <summary>Denominator term.</summary>
    public double Eps { get; }
    /// <summary>Weight decay (L2 for Adam, decoupled for AdamW).</summary>
    public double WeightDecay { get; }
    /// <summary>Use the maximum of past second moments.</summary>
    public bool AmsGrad { get; }

    /// <summary>True when weight decay is decoupled from the gradient (AdamW).</summary>
    protected virtual bool Decoupled => false;

    /// <inheritdoc />
    protected override IReadOnlyCollection<string> BufferNames => ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

    /// <inheritdoc />
    protected override void Update(int index, Variable parameter, Tensor grad)
    {
        var p = parameter.Value;
        var g = grad;
        if (WeightDecay != 0)
        {
            if (Decoupled) p = MulByHostScalar(index, p, "decay", () => 1 - LearningRate * WeightDecay);
            else g = Ops.Add(g, Ops.Mul(p, WeightDecay));
        }
        var m = State(index, "exp_avg");
        var v = State(index, "exp_avg_sq");
        long t = ParamStepCount(index); // per parameter, as PyTorch: steps without a gradient do not count
        if (!AmsGrad && IsTraced(p))
        {
            // Traced: the fused kernel's arithmetic with the step-dependent scalars as graph inputs (its attributes would
            // bake the bias corrections of the traced step into the graph).
            var m1 = Ops.Add(Ops.Mul(m.Value, Beta1), Ops.Mul(g, 1 - Beta1));
            var v1 = Ops.Add(Ops.Mul(v.Value, Beta2), Ops.Mul(Ops.Mul(g, g), 1 - Beta2));
            var sqrtBc2 = HostScalar(index, p, "sqrt_bias_correction2", () => Math.Sqrt(1 - Math.Pow(Beta2, ParamStepCount(index))));
            var denom = Ops.Add(Ops.Div(Ops.Sqrt(v1), sqrtBc2), Eps);
            var update = MulByHostScalar(index, Ops.Div(m1, denom), "step_size", () => LearningRate / (1 - Math.Pow(Beta1, ParamStepCount(index))));
            m.Assign(m1);
            v.Assign(v1);
            parameter.Assign(Ops.Sub(p, update));
            return;
        }
        if (!AmsGrad)
        {
            // In place when p is the variable's own value (decoupled decay made a new tensor otherwise): the optimizer owns
            // the parameter and both moments.
            bool owned = ReferenceEquals(p, parameter.Value);
            var (np, nm, nv) = Ops.AdamUpdate(p, g, m.Value, v.Value, LearningRate, Beta1, Beta2, Eps, t, inPlace: owned);
            m.Assign(nm);
            v.Assign(nv);
            parameter.Assign(np);
            return;
        }
        m.Assign(Ops.Add(Ops.Mul(m.Value, Beta1), Ops.Mul(g, 1 - Beta1)));
        v.Assign(Ops.Add(Ops.Mul(v.Value, Beta2), Ops.Mul(Ops.Mul(g, g), 1 - Beta2)));
        var vmax = State(index, "max_exp_avg_sq");
        vmax.Assign(Ops.Maximum(vmax.Value, v.Value));
        var denom2 = Ops.Add(MulByHostScalar(index, Ops.Sqrt(vmax.Value), "inv_sqrt_bias_correction2",
            () => 1 / Math.Sqrt(1 - Math.Pow(Beta2, ParamStepCount(index)))), Eps);
        parameter.Assign(Ops.Sub(p, MulByHostScalar(index, Ops.Div(m.Value, denom2), "step_size",
            () => LearningRate / (1 - Math.Pow(Beta1, ParamStepCount(index))))));
    }
}

/// <summary>Adam with decoupled weight decay (Loshchilov &amp; Hutter): <c>p ← p·(1 − lr·wd)</c> before the Adam step.</summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer (PyTorch's default weight decay 0.01).</summary>
    public AdamW(IEnumerable<Variable> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0.01, bool amsgrad = false)
        : base(parameters, learningRate, beta1, beta2, eps, weightDecay, amsgrad) { }

    /// <inheritdoc />
    protected override bool Decoupled => true;
}
