using static DualFramework.Ops;

namespace DualFramework.Operators;

/// <summary>
/// The recurrent ops (<c>OpSet.Recurrent.cs</c>) written with other ops: one matrix product of the whole sequence with the
/// input weights per direction, then the cell unrolled over the static sequence length. It defines the ops' gradient (its
/// adjoint) and is the eager backend's kernel (libtorch's fused RNN kernels are not reachable through TorchSharp's functional
/// API; libtorch's autograd differentiates the unrolled ops).
/// </summary>
internal static class RecurrentDecomposition
{

    public static Tensor[] Run(RecurrentOp op, RecurrentAttrs attrs, IReadOnlyList<Tensor> operands)
    {
        var x = operands[0];
        int k = 4;
        var h0 = attrs.HasInitialState ? operands[k++] : null;
        var c0 = attrs.HasInitialState && op.Cell == RecurrentCell.Lstm ? operands[k++] : null;
        var p = attrs.HasPeepholes ? operands[k++] : null;
        var lens = attrs.HasSequenceLengths ? operands[k] : null;
        long steps = x.Shape[0], batch = x.Shape[1], h = attrs.HiddenSize;
        // mask[t] [B, 1]: 1 while step t is inside batch entry b's sequence. Running the reverse direction from the last step
        // with the same mask skips the padding first, so each entry starts at its own last step, as ONNX specifies.
        Tensor[]? masks = null;
        if (lens != null)
        {
            var inside = Less(Reshape(Arange(steps, x.Backend), steps, 1), Reshape(Cast(lens, DType.Int64), 1, batch));
            masks = Split(Reshape(Cast(inside, x.DType), steps, batch, 1), (int)steps, 0).Select(m => Reshape(m, batch, 1)).ToArray();
        }
        var ys = new List<Tensor>();
        var hs = new List<Tensor>();
        var cs = new List<Tensor>();
        for (int d = 0; d < attrs.Directions; d++)
        {
            bool reverse = attrs.Direction == RecurrentDirection.Reverse || d == 1;
            var dir = new Direction(op, attrs, x, Of(operands[1], d), Of(operands[2], d), Of(operands[3], d), p == null ? null : Of(p, d));
            var state = h0 == null ? dir.ZeroState() : Of(h0, d);
            var cell = op.Cell != RecurrentCell.Lstm ? null : c0 == null ? dir.ZeroState() : Of(c0, d);
            var outs = new Tensor[steps];
            for (long i = 0; i < steps; i++)
            {
                long t = reverse ? steps - 1 - i : i;
                var (hNext, cNext) = dir.Step(t, state, cell);
                if (masks != null)
                {
                    var m = masks[t];
                    outs[t] = Mul(hNext, m);
                    state = Add(state, Mul(Sub(hNext, state), m));
                    if (cell != null) cell = Add(cell, Mul(Sub(cNext!, cell), m));
                }
                else
                {
                    outs[t] = hNext;
                    state = hNext;
                    cell = cNext;
                }
            }
            ys.Add(Reshape(Concat(outs, 0), steps, 1, batch, h));
            hs.Add(Reshape(state, 1, batch, h));
            if (cell != null) cs.Add(Reshape(cell, 1, batch, h));
        }
        var y = ys.Count == 1 ? ys[0] : Concat(ys, 1);
        var yh = hs.Count == 1 ? hs[0] : Concat(hs, 0);
        if (op.Cell != RecurrentCell.Lstm) return [y, yh];
        return [y, yh, cs.Count == 1 ? cs[0] : Concat(cs, 0)];
    }

    // Direction d of a [D, ...] operand.
    private static Tensor Of(Tensor t, int d) => Squeeze(Slice(t, 0, d, d + 1), 0);

    /// <summary>One direction's weights with the input projection of every step computed up front.</summary>
    private sealed class Direction
    {
        private readonly RecurrentOp _op;
        private readonly RecurrentAttrs _attrs;
        private readonly Tensor[] _xw;
        private readonly Tensor _rT;
        private readonly Tensor? _rHiddenT, _rbHidden;
        private readonly Tensor? _rb;
        private readonly Tensor[]? _peep;

        public Direction(RecurrentOp op, RecurrentAttrs attrs, Tensor x, Tensor w, Tensor r, Tensor b, Tensor? p)
        {
            _op = op;
            _attrs = attrs;
            long h = attrs.HiddenSize, gh = op.Gates * h, steps = x.Shape[0], batch = x.Shape[1];
            var wb = Slice(b, 0, 0, gh);
            var rb = Slice(b, 0, gh, 2 * gh);
            Tensor bias;
            if (op.Cell == RecurrentCell.Gru)
            {
                // The hidden gate's recurrent bias sits inside r ⊙ (…); the update and reset gates' biases fold into X·Wᵀ.
                var rbZr = Slice(rb, 0, 0, 2 * h);
                _rbHidden = Slice(rb, 0, 2 * h, 3 * h);
                bias = Add(wb, Concat([rbZr, ZerosLike(_rbHidden)], 0));
                var rHidden = Slice(r, 0, 2 * h, 3 * h);
                _rHiddenT = Transpose(rHidden, 0, 1);
                _rT = attrs.LinearBeforeReset ? Transpose(r, 0, 1) : Transpose(Slice(r, 0, 0, 2 * h), 0, 1);
                if (attrs.LinearBeforeReset) _rb = Concat([ZerosLike(rbZr), _rbHidden], 0);
            }
            else
            {
                bias = Add(wb, rb);
                _rT = Transpose(r, 0, 1);
            }
            var xw = Add(MatMul(x, Transpose(w, 0, 1)), bias);
            _xw = Split(xw, (int)steps, 0).Select(s => Reshape(s, batch, gh)).ToArray();
            if (p != null) _peep = Split(p, 3, 0);
        }

        /// <summary>Zeros <c>[B, H]</c>, shaped after the data (no batch-sized constant).</summary>
        public Tensor ZeroState() => ZerosLike(Slice(_xw[0], 1, 0, _attrs.HiddenSize));

        public (Tensor H, Tensor? C) Step(long t, Tensor h, Tensor? c)
        {
            var xw = _xw[t];
            switch (_op.Cell)
            {
                case RecurrentCell.Rnn:
                    var a = Add(xw, MatMul(h, _rT));
                    return (_attrs.Activation == RnnActivation.Relu ? Relu(a) : Tanh(a), null);
                case RecurrentCell.Lstm:
                    {
                        var g = Split(Add(xw, MatMul(h, _rT)), 4, 1);
                        Tensor gi = g[0], go = g[1], gf = g[2], gc = g[3];
                        if (_peep != null)
                        {
                            gi = Add(gi, Mul(_peep[0], c!));
                            gf = Add(gf, Mul(_peep[2], c!));
                        }
                        var cNext = Add(Mul(Sigmoid(gf), c!), Mul(Sigmoid(gi), Tanh(gc)));
                        if (_peep != null) go = Add(go, Mul(_peep[1], cNext));
                        return (Mul(Sigmoid(go), Tanh(cNext)), cNext);
                    }
                default:
                    {
                        var gx = Split(xw, 3, 1);
                        Tensor z, r, n;
                        if (_attrs.LinearBeforeReset)
                        {
                            var gh = Split(Add(MatMul(h, _rT), _rb!), 3, 1);
                            z = Sigmoid(Add(gx[0], gh[0]));
                            r = Sigmoid(Add(gx[1], gh[1]));
                            n = Tanh(Add(gx[2], Mul(r, gh[2])));
                        }
                        else
                        {
                            var gh = Split(MatMul(h, _rT), 2, 1);
                            z = Sigmoid(Add(gx[0], gh[0]));
                            r = Sigmoid(Add(gx[1], gh[1]));
                            n = Tanh(Add(Add(gx[2], MatMul(Mul(r, h), _rHiddenT!)), _rbHidden!));
                        }
                        // h' = (1 − z) ⊙ n + z ⊙ h
                        return (Add(n, Mul(z, Sub(h, n))), null);
                    }
            }
        }
    }
}
