using DualFramework.NN;

namespace DualFramework.Optim;

/// <summary>RMSprop with PyTorch's semantics (eps outside the square root; optional centering, momentum, L2 decay).</summary>
public sealed class RmsProp : Optimizer
{
    /// <summary>Creates the optimizer.</summary>
    public RmsProp(IEnumerable<Variable> parameters, double learningRate = 1e-2, double alpha = 0.99, double eps = 1e-8,
        double weightDecay = 0, double momentum = 0, bool centered = false) : base(parameters, learningRate)
    {
        if (alpha is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "must be in [0, 1]");
        if (momentum < 0) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "must be non-negative");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "must be non-negative");
        if (weightDecay < 0) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "must be non-negative");
        Alpha = alpha;
        Eps = eps;
        WeightDecay = weightDecay;
        Momentum = momentum;
        Centered = centered;
    }

    /// <summary>Smoothing constant of the squared-gradient average.</summary>
    public double Alpha { get; }
    /// <summary>Denominator term.</summary>
    public double Eps { get; }
    /// <summary>L2 penalty.</summary>
    public double WeightDecay { get; }
    /// <summary>Momentum factor.</summary>
    public double Momentum { get; }
    /// <summary>Normalise by the variance estimate instead of the second moment.</summary>
    public bool Centered { get; }

    /// <inheritdoc />
    protected override IReadOnlyCollection<string> BufferNames => ["square_avg", "grad_avg", "momentum_buffer"];

    /// <inheritdoc />
    protected override void Update(int index, Variable parameter, Tensor grad)
    {
        var p = parameter.Value;
        var g = WeightDecay != 0 ? Ops.Add(grad, Ops.Mul(p, WeightDecay)) : grad;
        var sq = State(index, "square_avg");
        sq.Assign(Ops.Add(Ops.Mul(sq.Value, Alpha), Ops.Mul(Ops.Mul(g, g), 1 - Alpha)));
        var avg = sq.Value;
        if (Centered)
        {
            var ga = State(index, "grad_avg");
            ga.Assign(Ops.Add(Ops.Mul(ga.Value, Alpha), Ops.Mul(g, 1 - Alpha)));
            avg = Ops.Sub(avg, Ops.Mul(ga.Value, ga.Value));
        }
        var denom = Ops.Add(Ops.Sqrt(avg), Eps);
        if (Momentum > 0)
        {
            var buf = State(index, "momentum_buffer");
            buf.Assign(Ops.Add(Ops.Mul(buf.Value, Momentum), Ops.Div(g, denom)));
            parameter.Assign(Ops.Sub(p, MulByHostScalar(index, buf.Value, "lr", () => LearningRate)));
        }
        else parameter.Assign(Ops.Sub(p, MulByHostScalar(index, Ops.Div(g, denom), "lr", () => LearningRate)));
    }
}
