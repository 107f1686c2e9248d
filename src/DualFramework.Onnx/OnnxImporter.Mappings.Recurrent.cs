using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>LSTM, GRU and RNN (opsets 1–14+): directions, layouts 0 and 1, optional biases, initial states and
        /// sequence lengths, LSTM peepholes, GRU's <c>linear_before_reset</c>, RNN's tanh or relu. Other activations,
        /// <c>clip</c>, <c>activation_alpha/beta</c> and LSTM's <c>input_forget</c> are not supported.</summary>
        private void AddRecurrent()
        {
            Map("LSTM", _ => Recurrent(OpSet.Lstm, ["sigmoid", "tanh", "tanh"]));
            Map("GRU", _ => Recurrent(OpSet.Gru, ["sigmoid", "tanh"]));
            Map("RNN", _ => Recurrent(OpSet.Rnn, ["tanh"]));
        }

        private Value Recurrent(RecurrentOp op, string[] defaultActivations)
        {
            var x = Float(In(0));
            var w = In(1);
            var r = In(2);
            if (Attr("clip") != null) throw Bad("clip is not supported");
            if (Attr("activation_alpha") != null || Attr("activation_beta") != null) throw Bad("activation_alpha/activation_beta are not supported");
            if (Int("input_forget", 0) != 0) throw Bad("input_forget = 1 is not supported");
            string dirName = Str("direction", "forward");
            var direction = dirName switch
            {
                "forward" => RecurrentDirection.Forward,
                "reverse" => RecurrentDirection.Reverse,
                "bidirectional" => RecurrentDirection.Bidirectional,
                _ => throw Bad($"direction '{dirName}' is not supported"),
            };
            int dirs = direction == RecurrentDirection.Bidirectional ? 2 : 1;
            var activation = RecurrentActivation(op, defaultActivations, dirs);
            bool batchFirst = opset >= 14 && Int("layout", 0) == 1;
            if (Int("layout", 0) is not (0 or 1)) throw Bad($"layout {Int("layout", 0)} is not supported");
            if (r.Spec.Shape.Rank != 3) throw Bad($"R must have rank 3, got {r.Spec.Shape}");
            long h = Int("hidden_size", r.Spec.Shape[2]);
            if (batchFirst) x = Node(OpSet.Permute, new PermuteAttrs([1, 0, 2]), x);
            if (x.Spec.Shape.Rank != 3) throw Bad($"X must have rank 3, got {x.Spec.Shape}");
            long batch = x.Spec.Shape[1], gh = op.Gates * h;
            var dtype = x.Spec.DType;
            bool lstm = op.Cell == RecurrentCell.Lstm;
            var b = Has(3) ? In(3) : Zeros([dirs, 2 * gh], dtype);
            // Without initial states the op starts from zeros itself; with one of LSTM's two, the other is a zero constant.
            bool states = Has(5) || (lstm && Has(6));
            var operands = new List<Value> { x, w, r, b };
            if (states) operands.Add(Has(5) ? State(In(5), batchFirst) : Zeros([dirs, batch, h], dtype));
            if (states && lstm) operands.Add(Has(6) ? State(In(6), batchFirst) : Zeros([dirs, batch, h], dtype));
            bool peep = lstm && Has(7);
            if (peep) operands.Add(In(7));
            if (Has(4)) operands.Add(In(4));
            var attrs = new RecurrentAttrs(direction, h, activation, Int("linear_before_reset", 0) != 0, Has(4), peep, states);
            var outs = Nodes(op, attrs, operands.ToArray());
            if (!batchFirst)
            {
                _more.AddRange(outs[1..]);
                return outs[0];
            }
            // layout 1: Y [B, T, D, H], Y_h/Y_c [B, D, H].
            _more.AddRange(outs[1..].Select(s => State(s, true)));
            return Node(OpSet.Permute, new PermuteAttrs([2, 0, 1, 3]), outs[0]);
        }

        // Only the activations each cell defines by default (RNN: also relu), the same in every direction.
        private RnnActivation RecurrentActivation(RecurrentOp op, string[] defaults, int dirs)
        {
            var given = Attr("activations")?.Strings.Select(s => s.ToStringUtf8().ToLowerInvariant()).ToArray();
            if (given == null || given.Length == 0) return RnnActivation.Tanh;
            if (given.Length != defaults.Length * dirs) throw Bad($"{given.Length} activations for {dirs} direction(s) (expected {defaults.Length * dirs})");
            if (op.Cell == RecurrentCell.Rnn && given.All(a => a == "relu")) return RnnActivation.Relu;
            for (int d = 0; d < dirs; d++)
                if (!given.Skip(d * defaults.Length).Take(defaults.Length).SequenceEqual(defaults))
                    throw Bad($"activations [{string.Join(", ", given)}] are not supported");
            return RnnActivation.Tanh;
        }

        // Swaps a state's batch and direction axes ([B, D, H] ↔ [D, B, H]) when the layout is batch-first.
        private Value State(Value s, bool batchFirst) => batchFirst ? Node(OpSet.Permute, new PermuteAttrs([1, 0, 2]), s) : s;

        private Value Zeros(long[] dims, DType dtype) =>
            Graph.AddConstant(new TensorSpec(new Shape(dims), dtype), new byte[dims.Aggregate(1L, (p, v) => p * v) * dtype.ElementSize()]);
    }
}
