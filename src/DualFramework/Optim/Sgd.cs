using DualFramework.NN;

namespace DualFramework.Optim;

/// <summary>Stochastic gradient descent with optional momentum (heavy-ball or Nesterov), dampening and L2 weight decay
/// (PyTorch's semantics: the first step seeds the momentum buffer with the gradient).</summary>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates the optimizer.</summary>
    public Sgd(IEnumerable<Variable> parameters, double learningRate, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false) : base(parameters, learningRate)
    {
        if (momentum < 0) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "must be non-negative");
        if (weightDecay < 0) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "must be non-negative");
        if (nesterov && (momentum <= 0 || dampening != 0)) throw new ArgumentException("Nesterov momentum needs momentum > 0 and dampening 0.");
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
    }

    /// <summary>Momentum factor.</summary>
    public double Momentum { get; }
    /// <summary>Dampening of the gradient in the momentum buffer.</summary>
    public double Dampening { get; }
    /// <summary>L2 penalty added to the gradient.</summary>
    public double WeightDecay { get; }
    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc />
    protected override IReadOnlyCollection<string> BufferNames => ["momentum_buffer"];

    /// <inheritdoc />
    protected override void Update(int index, Variable parameter, Tensor grad)
    {
        var p = parameter.Value;
        var g = WeightDecay != 0 ? Ops.Add(grad, Ops.Mul(p, WeightDecay)) : grad;
        if (Momentum != 0)
        {
            bool first = !HasState(index, "momentum_buffer");
            var buf = State(index, "momentum_buffer");
            var nb = first ? g : Ops.Add(Ops.Mul(buf.Value, Momentum), Ops.Mul(g, 1 - Dampening));
            buf.Assign(first ? Ops.Mul(g, 1.0) : nb);
            g = Nesterov ? Ops.Add(g, Ops.Mul(buf.Value, Momentum)) : buf.Value;
        }
        parameter.Assign(Ops.Sub(p, MulByHostScalar(index, g, "lr", () => LearningRate)));
    }
}
