using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>One LSTM layer with ONNX LSTM's operands and gate order (input, output, forget, cell); see
    /// <see cref="RecurrentOp"/>. PyTorch's <c>nn.LSTM</c> is <c>NN.LSTM</c>.</summary>
    /// <param name="x">The sequence <c>[T, B, I]</c>.</param>
    /// <param name="w">Input weights <c>[D, 4H, I]</c>.</param>
    /// <param name="r">Recurrent weights <c>[D, 4H, H]</c>.</param>
    /// <param name="b">Biases <c>[D, 8H]</c>: input biases, then recurrent biases.</param>
    /// <param name="h0">Initial hidden state <c>[D, B, H]</c>; null: zeros.</param>
    /// <param name="c0">Initial cell state <c>[D, B, H]</c>; null: zeros.</param>
    /// <param name="direction">Which way to run (D = 2 when bidirectional).</param>
    /// <param name="sequenceLengths">Optional lengths <c>[B]</c> (integers) of the batch entries.</param>
    /// <param name="peepholes">Optional peephole weights <c>[D, 3H]</c> (input, output, forget).</param>
    /// <returns>All hidden states <c>[T, D, B, H]</c>, the last hidden and the last cell state <c>[D, B, H]</c>.</returns>
    public static (Tensor Y, Tensor H, Tensor C) Lstm(Tensor x, Tensor w, Tensor r, Tensor b, Tensor? h0, Tensor? c0,
        RecurrentDirection direction = RecurrentDirection.Forward, Tensor? sequenceLengths = null, Tensor? peepholes = null)
    {
        var attrs = new RecurrentAttrs(direction, HiddenSizeOf(OpSet.Lstm, r), HasSequenceLengths: sequenceLengths != null, HasPeepholes: peepholes != null,
            HasInitialState: h0 != null || c0 != null);
        if (attrs.HasInitialState)
        {
            h0 ??= Ops.ZerosLike(c0!);
            c0 ??= Ops.ZerosLike(h0);
        }
        Tensor[] operands = [x, w, r, b, .. Optional(h0), .. Optional(c0), .. Optional(peepholes), .. Optional(sequenceLengths)];
        var o = Dispatcher.ApplyMulti(OpSet.Lstm, attrs, operands);
        return (o[0], o[1], o[2]);
    }

    /// <summary>One GRU layer with ONNX GRU's operands and gate order (update, reset, hidden); see <see cref="RecurrentOp"/>.
    /// PyTorch's <c>nn.GRU</c> is <c>NN.GRU</c>.</summary>
    /// <param name="x">The sequence <c>[T, B, I]</c>.</param>
    /// <param name="w">Input weights <c>[D, 3H, I]</c>.</param>
    /// <param name="r">Recurrent weights <c>[D, 3H, H]</c>.</param>
    /// <param name="b">Biases <c>[D, 6H]</c>: input biases, then recurrent biases.</param>
    /// <param name="h0">Initial hidden state <c>[D, B, H]</c>; null: zeros.</param>
    /// <param name="direction">Which way to run (D = 2 when bidirectional).</param>
    /// <param name="linearBeforeReset">True (PyTorch): <c>n = tanh(x·W_nᵀ + b_in + r ⊙ (h·R_nᵀ + b_hn))</c>; false (ONNX's
    /// default): <c>n = tanh(x·W_nᵀ + b_in + (r ⊙ h)·R_nᵀ + b_hn)</c>.</param>
    /// <param name="sequenceLengths">Optional lengths <c>[B]</c> (integers) of the batch entries.</param>
    /// <returns>All hidden states <c>[T, D, B, H]</c> and the last hidden state <c>[D, B, H]</c>.</returns>
    public static (Tensor Y, Tensor H) Gru(Tensor x, Tensor w, Tensor r, Tensor b, Tensor? h0,
        RecurrentDirection direction = RecurrentDirection.Forward, bool linearBeforeReset = true, Tensor? sequenceLengths = null)
    {
        var attrs = new RecurrentAttrs(direction, HiddenSizeOf(OpSet.Gru, r), LinearBeforeReset: linearBeforeReset, HasSequenceLengths: sequenceLengths != null,
            HasInitialState: h0 != null);
        var o = Dispatcher.ApplyMulti(OpSet.Gru, attrs, [x, w, r, b, .. Optional(h0), .. Optional(sequenceLengths)]);
        return (o[0], o[1]);
    }

    /// <summary>One simple recurrent layer <c>h = act(x·Wᵀ + b_w + h·Rᵀ + b_r)</c> with ONNX RNN's operands; see
    /// <see cref="RecurrentOp"/>. PyTorch's <c>nn.RNN</c> is <c>NN.RNN</c>.</summary>
    /// <param name="x">The sequence <c>[T, B, I]</c>.</param>
    /// <param name="w">Input weights <c>[D, H, I]</c>.</param>
    /// <param name="r">Recurrent weights <c>[D, H, H]</c>.</param>
    /// <param name="b">Biases <c>[D, 2H]</c>: input biases, then recurrent biases.</param>
    /// <param name="h0">Initial hidden state <c>[D, B, H]</c>; null: zeros.</param>
    /// <param name="direction">Which way to run (D = 2 when bidirectional).</param>
    /// <param name="activation">tanh or relu.</param>
    /// <param name="sequenceLengths">Optional lengths <c>[B]</c> (integers) of the batch entries.</param>
    /// <returns>All hidden states <c>[T, D, B, H]</c> and the last hidden state <c>[D, B, H]</c>.</returns>
    public static (Tensor Y, Tensor H) Rnn(Tensor x, Tensor w, Tensor r, Tensor b, Tensor? h0,
        RecurrentDirection direction = RecurrentDirection.Forward, RnnActivation activation = RnnActivation.Tanh, Tensor? sequenceLengths = null)
    {
        var attrs = new RecurrentAttrs(direction, HiddenSizeOf(OpSet.Rnn, r), activation, HasSequenceLengths: sequenceLengths != null,
            HasInitialState: h0 != null);
        var o = Dispatcher.ApplyMulti(OpSet.Rnn, attrs, [x, w, r, b, .. Optional(h0), .. Optional(sequenceLengths)]);
        return (o[0], o[1]);
    }

    private static long HiddenSizeOf(RecurrentOp op, Tensor r) =>
        r.Rank == 3 ? r.Shape[2] : throw new OpException(op.Name, [r.Spec], $"R must have shape [directions, {op.Gates}·hidden, hidden], got {r.Shape}", LayerPath.Current);

    private static Tensor[] Optional(Tensor? t) => t == null ? [] : [t];
}
