using DualFramework.Autodiff;

namespace DualFramework.Operators;

/// <summary>Which way a recurrent op runs over the sequence (ONNX's <c>direction</c>).</summary>
public enum RecurrentDirection
{
    /// <summary>From the first step to the last.</summary>
    Forward,

    /// <summary>From the last step to the first.</summary>
    Reverse,

    /// <summary>Both, the forward direction first (two directions in every weight and state).</summary>
    Bidirectional,
}

/// <summary>The activation of the simple recurrent op <c>rnn</c>.</summary>
public enum RnnActivation
{
    /// <summary><c>tanh</c> (the default of ONNX and PyTorch).</summary>
    Tanh,

    /// <summary><c>relu</c>.</summary>
    Relu,
}

/// <summary>Attributes of the recurrent ops <c>lstm</c>, <c>gru</c> and <c>rnn</c>.</summary>
/// <param name="Direction">Which way the op runs.</param>
/// <param name="HiddenSize">Size of the hidden state.</param>
/// <param name="Activation">The activation of <c>rnn</c> (ignored by the others).</param>
/// <param name="LinearBeforeReset">GRU only: apply the reset gate after the recurrent linear map (PyTorch's GRU and ONNX's
/// <c>linear_before_reset = 1</c>) instead of before it (ONNX's default).</param>
/// <param name="HasSequenceLengths">Whether the last operand is <c>sequence_lens</c> <c>[B]</c> (integers): steps at or beyond a
/// batch entry's length leave its state unchanged and write zeros to the output.</param>
/// <param name="HasPeepholes">LSTM only: whether a peephole operand <c>P</c> <c>[D, 3H]</c> (input, output, forget) follows the
/// initial cell state.</param>
/// <param name="HasInitialState">Whether <c>initial_h</c> (and for LSTM <c>initial_c</c>) are operands; without them the
/// states start at zero (ONNX's omitted inputs), which keeps exported models free of batch-sized constants.</param>
public sealed record RecurrentAttrs(RecurrentDirection Direction, long HiddenSize, RnnActivation Activation = RnnActivation.Tanh,
    bool LinearBeforeReset = false, bool HasSequenceLengths = false, bool HasPeepholes = false, bool HasInitialState = true) : OpAttrs
{
    /// <summary>Number of directions D (1 or 2).</summary>
    public int Directions => Direction == RecurrentDirection.Bidirectional ? 2 : 1;
}

/// <summary>The cell a recurrent op runs.</summary>
public enum RecurrentCell
{
    /// <summary>Long short-term memory: gates input, output, forget, cell (ONNX order <c>iofc</c>).</summary>
    Lstm,

    /// <summary>Gated recurrent unit: gates update, reset, hidden (ONNX order <c>zrh</c>).</summary>
    Gru,

    /// <summary>Elman network: one gate, <c>h = act(x·Wᵀ + h·Rᵀ + b)</c>.</summary>
    Rnn,
}

/// <summary>
/// One recurrent layer with ONNX's semantics (ONNX LSTM, GRU and RNN at <c>layout = 0</c>): operands
/// <c>X [T, B, I]</c>, <c>W [D, G·H, I]</c>, <c>R [D, G·H, H]</c>, <c>B [D, 2·G·H]</c> (input biases then recurrent biases),
/// optionally (<see cref="RecurrentAttrs.HasInitialState"/>) <c>initial_h [D, B, H]</c> and for <c>lstm</c>
/// <c>initial_c [D, B, H]</c>, for <c>lstm</c> optionally <c>P [D, 3H]</c>, and optionally
/// <c>sequence_lens [B]</c> last; G is 4 (LSTM), 3 (GRU) or 1 (RNN), gates stacked in ONNX's order. Outputs
/// <c>Y [T, D, B, H]</c>, <c>Y_h [D, B, H]</c> and for <c>lstm</c> <c>Y_c [D, B, H]</c>.
/// </summary>
/// <remarks>The gradient is the adjoint of the op's reference decomposition (<see cref="RecurrentDecomposition"/>: one
/// matrix product of X with all input weights, then the cell unrolled over the static sequence length) built from existing
/// ops, so every backend that runs those ops differentiates the recurrence the same way.</remarks>
public sealed class RecurrentOp : Op<RecurrentAttrs>
{
    internal RecurrentOp(string name, RecurrentCell cell) : base(name) => Cell = cell;

    /// <summary>The cell the op runs.</summary>
    public RecurrentCell Cell { get; }

    /// <summary>Gates per direction (G).</summary>
    public int Gates => Cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };

    /// <summary>Number of operands for <paramref name="attrs"/>.</summary>
    public int OperandCount(RecurrentAttrs attrs) =>
        4 + (attrs.HasInitialState ? (Cell == RecurrentCell.Lstm ? 2 : 1) : 0) + (attrs.HasPeepholes ? 1 : 0) + (attrs.HasSequenceLengths ? 1 : 0);

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, RecurrentAttrs attrs)
    {
        Arity(inputs, OperandCount(attrs));
        if (attrs.HasPeepholes && Cell != RecurrentCell.Lstm) throw Fail(inputs, "only lstm has peepholes");
        var x = inputs[0];
        if (!x.DType.IsFloating()) throw Fail(inputs, $"needs a floating input, got {x.DType.Name()}");
        if (x.Shape.Rank != 3) throw Fail(inputs, $"X must have shape [seq_length, batch, input_size], got {x.Shape}");
        long t = x.Shape[0], b = x.Shape[1], i = x.Shape[2], h = attrs.HiddenSize, gh = Gates * h;
        int d = attrs.Directions;
        if (h <= 0) throw Fail(inputs, $"hidden_size must be positive, got {h}");
        if (t == 0) throw Fail(inputs, "the sequence is empty");
        var expected = new List<(string Name, long[] Dims)>
        {
            ("X", [t, b, i]), ("W", [d, gh, i]), ("R", [d, gh, h]), ("B", [d, 2 * gh]),
        };
        if (attrs.HasInitialState) expected.Add(("initial_h", [d, b, h]));
        if (attrs.HasInitialState && Cell == RecurrentCell.Lstm) expected.Add(("initial_c", [d, b, h]));
        if (attrs.HasPeepholes) expected.Add(("P", [d, 3 * h]));
        for (int k = 1; k < expected.Count; k++)
        {
            if (inputs[k].DType != x.DType) throw Fail(inputs, $"{expected[k].Name} has dtype {inputs[k].DType.Name()}, X {x.DType.Name()}");
            if (!inputs[k].Shape.ToArray().SequenceEqual(expected[k].Dims))
                throw Fail(inputs, $"{expected[k].Name} must have shape [{string.Join(", ", expected[k].Dims)}], got {inputs[k].Shape}");
        }
        if (attrs.HasSequenceLengths)
        {
            var lens = inputs[^1];
            if (!lens.DType.IsInteger() || lens.Shape.Rank != 1 || lens.Shape[0] != b)
                throw Fail(inputs, $"sequence_lens must be integers of shape [{b}], got {lens}");
        }
        var state = new TensorSpec(Shape.Own([d, b, h]), x.DType);
        var y = new TensorSpec(Shape.Own([t, d, b, h]), x.DType);
        return Cell == RecurrentCell.Lstm ? [y, state, state] : [y, state];
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        var attrs = ctx.AttrsAs<RecurrentAttrs>();
        return Autograd.GradOfDecomposition(ctx, ins => RecurrentDecomposition.Run(this, attrs, ins));
    }
}

public static partial class OpSet
{
    /// <summary>One LSTM layer (ONNX LSTM semantics, gates <c>iofc</c>).</summary>
    public static readonly RecurrentOp Lstm = new("lstm", RecurrentCell.Lstm);

    /// <summary>One GRU layer (ONNX GRU semantics, gates <c>zrh</c>).</summary>
    public static readonly RecurrentOp Gru = new("gru", RecurrentCell.Gru);

    /// <summary>One simple recurrent layer (ONNX RNN semantics).</summary>
    public static readonly RecurrentOp Rnn = new("rnn", RecurrentCell.Rnn);
}
