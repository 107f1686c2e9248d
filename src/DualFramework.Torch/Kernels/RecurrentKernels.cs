using DualFramework.Autodiff;
using DualFramework.Operators;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the recurrent family (<c>OpSet.Recurrent.cs</c>): LSTM, GRU, RNN.</summary>
/// <remarks>TorchSharp reaches libtorch's fused RNN kernels only through <c>nn.LSTM</c>-style modules, whose weights are
/// their own leaf parameters (gradients would not flow back to the operands). The kernels therefore run the ops' reference
/// decomposition with libtorch tensors, which libtorch's autograd differentiates.</remarks>
internal static class RecurrentKernels
{
    public static void Register(KernelTable t)
    {
        foreach (var op in new[] { OpSet.Lstm, OpSet.Gru, OpSet.Rnn })
            t.Add(op, (x, a, o) => Run(op, a, x.ToArray()));
    }

    private static object Run(RecurrentOp op, RecurrentAttrs attrs, Tensor[] operands)
    {
        // With Core's tape forced, the outer application is what the tape records; the steps inside stay off it.
        using var noTape = Autograd.IsTapeForced ? Autograd.NoGrad() : null;
        using var scope = TensorScope.Begin();
        var outputs = RecurrentDecomposition.Run(op, attrs, operands);
        // Aliases own their own handles (sharing storage and autograd history) and outlive the scope's temporaries.
        return outputs.Select(y => (object)((TT)y.Handle).alias()).ToArray();
    }
}
