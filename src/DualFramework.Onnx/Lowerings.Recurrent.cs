using DualFramework.Onnx.Proto;
using DualFramework.Operators;
using Google.Protobuf;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the recurrent family (<c>OpSet.Recurrent.cs</c>): ONNX LSTM, GRU and RNN at layout 0, whose
    /// operands and gate orders the ops share.</summary>
    private static void AddRecurrent(LoweringTable t)
    {
        t.Add(OpSet.Lstm, (c, a) => Recurrent(c, OpSet.Lstm, a, "LSTM"));
        t.Add(OpSet.Gru, (c, a) => Recurrent(c, OpSet.Gru, a, "GRU"));
        t.Add(OpSet.Rnn, (c, a) => Recurrent(c, OpSet.Rnn, a, "RNN"));
    }

    private static void Recurrent(LoweringContext c, RecurrentOp op, RecurrentAttrs a, string opType)
    {
        bool lstm = op.Cell == RecurrentCell.Lstm;
        int k = 4;
        string h0 = a.HasInitialState ? c.In(k++) : "";
        string c0 = a.HasInitialState && lstm ? c.In(k++) : "";
        string peepholes = a.HasPeepholes ? c.In(k++) : "";
        string lens = "";
        if (a.HasSequenceLengths)
        {
            // ONNX takes int32 lengths.
            var dtype = c.InSpec(k).DType;
            lens = dtype == DType.Int32 ? c.In(k) : c.Cast(c.In(k), dtype, DType.Int32);
        }
        string[] inputs = lstm
            ? [c.In(0), c.In(1), c.In(2), c.In(3), lens, h0, c0, peepholes]
            : [c.In(0), c.In(1), c.In(2), c.In(3), lens, h0];
        var attrs = new List<AttributeProto>
        {
            OnnxAttr.Int("hidden_size", a.HiddenSize),
            OnnxAttr.String("direction", a.Direction switch
            {
                RecurrentDirection.Reverse => "reverse",
                RecurrentDirection.Bidirectional => "bidirectional",
                _ => "forward",
            }),
        };
        if (op.Cell == RecurrentCell.Gru && a.LinearBeforeReset) attrs.Add(OnnxAttr.Int("linear_before_reset", 1));
        if (op.Cell == RecurrentCell.Rnn && a.Activation == RnnActivation.Relu)
        {
            var act = new AttributeProto { Name = "activations", Type = AttributeProto.Types.AttributeType.Strings };
            for (int d = 0; d < a.Directions; d++) act.Strings.Add(ByteString.CopyFromUtf8("Relu"));
            attrs.Add(act);
        }
        var outs = Enumerable.Range(0, lstm ? 3 : 2).Select(c.Out).ToArray();
        c.Emit(opType, inputs, outs, attrs.ToArray());
        for (int i = 0; i < outs.Length; i++) c.Set(i, outs[i]);
    }
}
