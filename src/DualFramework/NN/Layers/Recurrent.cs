using DualFramework.Operators;

namespace DualFramework.NN;

/// <summary>
/// What <see cref="LSTM"/>, <see cref="GRU"/> and <see cref="RNN"/> share (PyTorch's <c>nn.RNNBase</c>): stacked layers,
/// directions, batch-first layout, dropout between layers, PyTorch's parameter names and gate orders. Each layer runs one
/// recurrent op (<see cref="RecurrentOp"/>, ONNX's gate order); the parameters are reordered at that boundary.
/// </summary>
/// <remarks>Parameters per layer k and direction (suffix <c>_reverse</c> for the second): <c>weight_ih_lk [G·H, in]</c>,
/// <c>weight_hh_lk [G·H, H]</c>, <c>bias_ih_lk [G·H]</c>, <c>bias_hh_lk [G·H]</c>, registered in that order and all drawn
/// from U(±1/√H) in that order (PyTorch's initialisation).</remarks>
public abstract class RecurrentLayer : Module, IHasGenerator
{
    private readonly Variable[][] _weights;
    private readonly RecurrentOp _op;
    private readonly int[] _gateOrder;

    private protected RecurrentLayer(string layer, RecurrentOp op, int[] gateOrder, long inputSize, long hiddenSize, int numLayers,
        bool bias, bool batchFirst, double dropout, bool bidirectional, SeededRandom? rng)
    {
        LayerName = layer;
        _op = op;
        _gateOrder = gateOrder;
        InputSize = LayerChecks.Positive(layer, "input_size", inputSize);
        HiddenSize = LayerChecks.Positive(layer, "hidden_size", hiddenSize);
        NumLayers = LayerChecks.Positive(layer, "num_layers", numLayers);
        DropoutP = LayerChecks.Probability(layer, "dropout", dropout);
        HasBias = bias;
        BatchFirst = batchFirst;
        Bidirectional = bidirectional;
        var r = Init.Resolve(rng);
        long gh = op.Gates * hiddenSize;
        double k = 1 / Math.Sqrt(hiddenSize);
        _weights = new Variable[numLayers * Directions][];
        for (int l = 0; l < numLayers; l++)
        {
            long inSize = l == 0 ? inputSize : hiddenSize * Directions;
            for (int d = 0; d < Directions; d++)
            {
                string s = $"_l{l}{(d == 1 ? "_reverse" : "")}";
                var list = new List<Variable>
                {
                    RegisterParameter("weight_ih" + s, Init.Uniform(new Shape(gh, inSize), -k, k, r)),
                    RegisterParameter("weight_hh" + s, Init.Uniform(new Shape(gh, hiddenSize), -k, k, r)),
                };
                if (bias)
                {
                    list.Add(RegisterParameter("bias_ih" + s, Init.Uniform(new Shape(gh), -k, k, r)));
                    list.Add(RegisterParameter("bias_hh" + s, Init.Uniform(new Shape(gh), -k, k, r)));
                }
                _weights[l * Directions + d] = list.ToArray();
            }
        }
        Generator = new Generator(r.NextUInt64());
    }

    private string LayerName { get; }

    /// <summary>Features of the input's last axis.</summary>
    public long InputSize { get; }

    /// <summary>Size of the hidden state.</summary>
    public long HiddenSize { get; }

    /// <summary>Stacked layers.</summary>
    public int NumLayers { get; }

    /// <summary>Whether the layers have biases.</summary>
    public bool HasBias { get; }

    /// <summary>Whether inputs and outputs are <c>[B, T, …]</c> instead of <c>[T, B, …]</c>.</summary>
    public bool BatchFirst { get; }

    /// <summary>Dropout probability on the outputs of every layer but the last, in training mode.</summary>
    public double DropoutP { get; }

    /// <summary>Whether every layer also runs backwards (outputs concatenate both directions).</summary>
    public bool Bidirectional { get; }

    /// <summary>Directions per layer (1 or 2).</summary>
    public int Directions => Bidirectional ? 2 : 1;

    /// <summary>The source of the inter-layer dropout masks' seeds.</summary>
    public Generator Generator { get; }

    /// <summary>The parameter <paramref name="name"/> (PyTorch's name, e.g. <c>weight_ih_l0_reverse</c>).</summary>
    public Variable Parameter(string name) =>
        NamedParameters().FirstOrDefault(p => p.Name == name).Parameter ?? throw new ArgumentException($"{LayerName} has no parameter '{name}'.", nameof(name));

    /// <summary>The output sequence for zero initial states.</summary>
    public override Tensor Forward(Tensor input) => Run(input, null, null, null).Output;

    private protected (Tensor Output, Tensor H, Tensor? C) Run(Tensor input, Tensor? h0, Tensor? c0, Tensor? lengths)
    {
        ArgumentNullException.ThrowIfNull(input);
        LayerChecks.Floating(LayerName, input);
        if (input.Rank is not (2 or 3) || input.Shape[-1] != InputSize)
            throw LayerChecks.InputError(LayerName, input,
                $"expects {(BatchFirst ? "[batch, seq, input_size]" : "[seq, batch, input_size]")} or [seq, input_size] with input_size = {InputSize}, got shape {input.Shape}");
        bool unbatched = input.Rank == 2;
        var x = unbatched ? Ops.Unsqueeze(input, 1) : BatchFirst ? Ops.Transpose(input, 0, 1) : input;
        long batch = x.Shape[1];
        if (lengths != null && (unbatched || !lengths.DType.IsInteger() || lengths.Shape != new Shape(batch)))
            throw LayerChecks.InputError(LayerName, [input, lengths],
                unbatched ? "lengths need a batched input" : $"lengths must be integers of shape [{batch}] (one per batch entry), got {lengths.Spec}");
        var stateShape = new Shape(NumLayers * Directions, batch, HiddenSize);
        bool lstm = _op.Cell == RecurrentCell.Lstm;
        // No initial states: the ops start from zeros themselves (an exported model then has no batch-sized constant).
        bool states = h0 != null || (lstm && c0 != null);
        if (states)
        {
            h0 = State("h0", h0, stateShape, unbatched, x);
            if (lstm) c0 = State("c0", c0, stateShape, unbatched, x);
        }
        var hs = new List<Tensor>();
        var cs = new List<Tensor>();
        long steps = x.Shape[0];
        Tensor output = x;
        for (int l = 0; l < NumLayers; l++)
        {
            if (l > 0 && DropoutP > 0 && Training) x = Ops.Dropout(x, DropoutP, Training, Generator);
            var w = Stack(l, d => Reorder(_weights[d][0]));
            var r = Stack(l, d => Reorder(_weights[d][1]));
            var b = Stack(l, d => HasBias
                ? Ops.Concat([Reorder(_weights[d][2]), Reorder(_weights[d][3])], 0)
                : Ops.Zeros(new Shape(2 * _op.Gates * HiddenSize), x.DType, x.Backend));
            var dir = Bidirectional ? RecurrentDirection.Bidirectional : RecurrentDirection.Forward;
            var hl = states ? Ops.Slice(h0!, 0, l * Directions, (l + 1) * Directions) : null;
            var cl = states && lstm ? Ops.Slice(c0!, 0, l * Directions, (l + 1) * Directions) : null;
            Tensor y;
            switch (_op.Cell)
            {
                case RecurrentCell.Lstm:
                    var (ly, lh, lc) = Ops.Lstm(x, w, r, b, hl, cl, dir, lengths);
                    y = ly;
                    hs.Add(lh);
                    cs.Add(lc);
                    break;
                case RecurrentCell.Gru:
                    (y, var gh) = Ops.Gru(x, w, r, b, hl, dir, linearBeforeReset: true, lengths);
                    hs.Add(gh);
                    break;
                default:
                    (y, var rh) = Ops.Rnn(x, w, r, b, hl, dir, ((RNN)this).Nonlinearity, lengths);
                    hs.Add(rh);
                    break;
            }
            // [T, D, B, H] → [B, T, D·H]: directions side by side, as PyTorch concatenates them. The reshape keeps the batch
            // leading, which an export with a symbolic batch axis copies rather than fixing.
            output = Ops.Reshape(Ops.Permute(y, 2, 0, 1, 3), batch, steps, Directions * HiddenSize);
            x = Ops.Transpose(output, 0, 1);
        }
        var hn = hs.Count == 1 ? hs[0] : Ops.Concat(hs, 0);
        var cn = lstm ? cs.Count == 1 ? cs[0] : Ops.Concat(cs, 0) : null;
        if (unbatched)
            return (Ops.Squeeze(output, 0), Ops.Squeeze(hn, 1), cn == null ? null : Ops.Squeeze(cn, 1));
        return (BatchFirst ? output : x, hn, cn);

        Tensor Stack(int layer, Func<int, Tensor> f)
        {
            var parts = Enumerable.Range(layer * Directions, Directions).Select(d => Ops.Unsqueeze(f(d), 0)).ToArray();
            return parts.Length == 1 ? parts[0] : Ops.Concat(parts, 0);
        }
    }

    // PyTorch's gate blocks (rows of G·H) in ONNX's order.
    private Tensor Reorder(Variable v)
    {
        var t = v.Value;
        if (_gateOrder.Select((g, i) => g == i).All(same => same)) return t;
        var blocks = Ops.Split(t, _op.Gates, 0);
        return Ops.Concat(_gateOrder.Select(g => blocks[g]).ToArray(), 0);
    }

    private Tensor State(string name, Tensor? s, Shape shape, bool unbatched, Tensor x)
    {
        if (s == null) return Ops.Zeros(shape, x.DType, x.Backend);
        var full = unbatched ? Ops.Unsqueeze(s, 1) : s;
        if (full.Shape != shape || full.DType != x.DType)
            throw LayerChecks.InputError(LayerName, [x, s], $"{name} must be {x.DType.Name()} of shape {(unbatched ? new Shape(shape[0], shape[2]) : shape)}, got {s.Spec}");
        return full;
    }
}

/// <summary>Long short-term memory (PyTorch's <c>nn.LSTM</c>, gates <c>i, f, g, o</c> in its parameters).</summary>
public sealed class LSTM : RecurrentLayer
{
    /// <summary>Creates the layer (see <see cref="RecurrentLayer"/> for parameters and initialisation).</summary>
    /// <param name="inputSize">Features of the input.</param>
    /// <param name="hiddenSize">Size of the hidden and cell states.</param>
    /// <param name="numLayers">Stacked layers.</param>
    /// <param name="bias">Whether to learn biases.</param>
    /// <param name="batchFirst">Inputs and outputs as <c>[B, T, …]</c>.</param>
    /// <param name="dropout">Dropout between layers in training mode.</param>
    /// <param name="bidirectional">Run each layer both ways.</param>
    /// <param name="rng">Initialisation generator; null forks the process-wide one.</param>
    public LSTM(long inputSize, long hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, double dropout = 0,
        bool bidirectional = false, SeededRandom? rng = null)
        : base(nameof(LSTM), OpSet.Lstm, [0, 3, 1, 2], inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, rng) { }

    /// <summary>Runs the layers from the given (or zero) initial states <c>[L·D, B, H]</c>. With <paramref name="lengths"/>
    /// (integers <c>[B]</c>, what PyTorch's packed sequences express) entry b runs over its first lengths[b] steps only: later
    /// outputs are zeros, the returned states are those after its own last step, and the reverse direction starts there.</summary>
    /// <returns>The output <c>[T, B, D·H]</c> (batch-first: <c>[B, T, D·H]</c>), and the last hidden and cell states
    /// <c>[L·D, B, H]</c> of every layer and direction.</returns>
    public (Tensor Output, Tensor H, Tensor C) Forward(Tensor input, Tensor? h0, Tensor? c0, Tensor? lengths = null)
    {
        using var scope = EnterLayer();
        var (y, h, c) = Run(input, h0, c0, lengths);
        return (y, h, c!);
    }
}

/// <summary>Gated recurrent unit (PyTorch's <c>nn.GRU</c>, gates <c>r, z, n</c> in its parameters).</summary>
public sealed class GRU : RecurrentLayer
{
    /// <summary>Creates the layer (see <see cref="RecurrentLayer"/> for parameters and initialisation).</summary>
    /// <param name="inputSize">Features of the input.</param>
    /// <param name="hiddenSize">Size of the hidden state.</param>
    /// <param name="numLayers">Stacked layers.</param>
    /// <param name="bias">Whether to learn biases.</param>
    /// <param name="batchFirst">Inputs and outputs as <c>[B, T, …]</c>.</param>
    /// <param name="dropout">Dropout between layers in training mode.</param>
    /// <param name="bidirectional">Run each layer both ways.</param>
    /// <param name="rng">Initialisation generator; null forks the process-wide one.</param>
    public GRU(long inputSize, long hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, double dropout = 0,
        bool bidirectional = false, SeededRandom? rng = null)
        : base(nameof(GRU), OpSet.Gru, [1, 0, 2], inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, rng) { }

    /// <summary>Runs the layers from the given (or zero) initial state <c>[L·D, B, H]</c>. With <paramref name="lengths"/>
    /// (integers <c>[B]</c>, what PyTorch's packed sequences express) entry b runs over its first lengths[b] steps only: later
    /// outputs are zeros, the returned states are those after its own last step, and the reverse direction starts there.</summary>
    /// <returns>The output and the last hidden state of every layer and direction.</returns>
    public (Tensor Output, Tensor H) Forward(Tensor input, Tensor? h0, Tensor? lengths = null)
    {
        using var scope = EnterLayer();
        var (y, h, _) = Run(input, h0, null, lengths);
        return (y, h);
    }
}

/// <summary>Elman recurrent network (PyTorch's <c>nn.RNN</c>): <c>h = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)</c>.</summary>
public sealed class RNN : RecurrentLayer
{
    /// <summary>Creates the layer (see <see cref="RecurrentLayer"/> for parameters and initialisation).</summary>
    /// <param name="inputSize">Features of the input.</param>
    /// <param name="hiddenSize">Size of the hidden state.</param>
    /// <param name="numLayers">Stacked layers.</param>
    /// <param name="nonlinearity">tanh or relu.</param>
    /// <param name="bias">Whether to learn biases.</param>
    /// <param name="batchFirst">Inputs and outputs as <c>[B, T, …]</c>.</param>
    /// <param name="dropout">Dropout between layers in training mode.</param>
    /// <param name="bidirectional">Run each layer both ways.</param>
    /// <param name="rng">Initialisation generator; null forks the process-wide one.</param>
    public RNN(long inputSize, long hiddenSize, int numLayers = 1, RnnActivation nonlinearity = RnnActivation.Tanh, bool bias = true,
        bool batchFirst = false, double dropout = 0, bool bidirectional = false, SeededRandom? rng = null)
        : base(nameof(RNN), OpSet.Rnn, [0], inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, rng) =>
        Nonlinearity = nonlinearity;

    /// <summary>The activation.</summary>
    public RnnActivation Nonlinearity { get; }

    /// <summary>Runs the layers from the given (or zero) initial state <c>[L·D, B, H]</c>. With <paramref name="lengths"/>
    /// (integers <c>[B]</c>, what PyTorch's packed sequences express) entry b runs over its first lengths[b] steps only: later
    /// outputs are zeros, the returned states are those after its own last step, and the reverse direction starts there.</summary>
    /// <returns>The output and the last hidden state of every layer and direction.</returns>
    public (Tensor Output, Tensor H) Forward(Tensor input, Tensor? h0, Tensor? lengths = null)
    {
        using var scope = EnterLayer();
        var (y, h, _) = Run(input, h0, null, lengths);
        return (y, h);
    }
}
