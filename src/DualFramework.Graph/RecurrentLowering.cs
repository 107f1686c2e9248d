namespace DualFramework.OnnxRuntime;

/// <summary>How <see cref="GraphBackend.Compile"/> runs the recurrent ops (<c>lstm</c>, <c>gru</c>, <c>rnn</c>) of a graph.</summary>
public enum RecurrentLowering
{
    /// <summary>Unrolled where that adds no matrix product to the graph, fused elsewhere. A training step's gradient recomputes the
    /// unrolled forward to take its adjoint, so there the fused node would run the forward a second time: unrolling lets
    /// common-subexpression elimination keep one forward (the unrolled graph goes through <see cref="DualFramework.IR.Passes.PassPipeline.Default"/>
    /// again for that). A forward-only graph keeps the fused node.</summary>
    Auto,

    /// <summary>Always one ONNX <c>LSTM</c>/<c>GRU</c>/<c>RNN</c> node: ONNX Runtime's kernel loops over the steps.</summary>
    Fused,

    /// <summary>Always the op's reference decomposition, the cell unrolled over the sequence in the graph (the ops the eager
    /// kernel runs and the gradient differentiates).</summary>
    Unrolled,
}
