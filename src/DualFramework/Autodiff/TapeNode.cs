using DualFramework.Operators;

namespace DualFramework.Autodiff;

/// <summary>One recorded op application: the op, its attributes, operands and results.</summary>
internal sealed class TapeNode(Op op, OpAttrs attrs, Tensor[] inputs, Tensor[] outputs)
{
    public Op Op { get; } = op;
    public OpAttrs Attrs { get; } = attrs;
    public Tensor[] Inputs { get; } = inputs;
    public Tensor[] Outputs { get; } = outputs;
}
