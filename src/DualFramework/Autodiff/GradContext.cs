using DualFramework.Operators;

namespace DualFramework.Autodiff;

/// <summary>What an op's gradient rule sees: the forward operands and results, attributes and output gradients.</summary>
public sealed class GradContext
{
    private readonly Tensor?[] _outputGrads;
    private readonly bool[] _needs;

    /// <summary>Creates a context (used by the tape and by symbolic autodiff).</summary>
    public GradContext(Op op, OpAttrs attrs, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> outputs, Tensor?[] outputGrads, bool[] needsInputGrad)
    {
        Op = op;
        Attrs = attrs;
        Inputs = inputs;
        Outputs = outputs;
        _outputGrads = outputGrads;
        _needs = needsInputGrad;
    }

    /// <summary>The op being differentiated.</summary>
    public Op Op { get; }

    /// <summary>Its attributes.</summary>
    public OpAttrs Attrs { get; }

    /// <summary>The forward operands.</summary>
    public IReadOnlyList<Tensor> Inputs { get; }

    /// <summary>The forward results.</summary>
    public IReadOnlyList<Tensor> Outputs { get; }

    /// <summary>The attributes as <typeparamref name="T"/>.</summary>
    public T AttrsAs<T>() where T : OpAttrs => (T)Attrs;

    /// <summary>Gradient flowing into output <paramref name="index"/>, or null when none does.</summary>
    public Tensor? OutputGrad(int index) => _outputGrads[index];

    /// <summary>Gradient of output <paramref name="index"/>, zeros when none flows.</summary>
    public Tensor OutputGradOrZeros(int index) =>
        _outputGrads[index] ?? DualFramework.Ops.ZerosLike(Outputs[index]);

    /// <summary>The gradient of the (first) output.</summary>
    public Tensor Grad => OutputGradOrZeros(0);

    /// <summary>True when the gradient of input <paramref name="index"/> is wanted (rules may skip the others).</summary>
    public bool NeedsGrad(int index) => _needs[index];
}
