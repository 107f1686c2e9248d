using DualFramework.NN;

namespace DualFramework.Samples.TextLstm;

/// <summary>Next-character model: embedding → LSTM (batch first) → the last step's hidden state → linear logits.</summary>
public sealed class CharModel : Module
{
    private readonly Embedding _embed;
    private readonly LSTM _lstm;
    private readonly Linear _head;

    /// <summary>Creates the model.</summary>
    public CharModel(int vocabulary, int embedding, int hidden, int layers, SeededRandom rng)
    {
        _embed = RegisterModule("embed", new Embedding(vocabulary, embedding, rng));
        _lstm = RegisterModule("lstm", new LSTM(embedding, hidden, layers, batchFirst: true, rng: rng));
        _head = RegisterModule("head", new Linear(hidden, vocabulary, rng: rng));
    }

    /// <summary>Logits <c>[B, V]</c> of the character after each window of ids <c>[B, T]</c> (floats holding whole numbers, as
    /// the data pipeline delivers them).</summary>
    public override Tensor Forward(Tensor input)
    {
        var ids = Ops.Cast(input, DType.Int64);
        var states = _lstm.Forward(_embed.Forward(ids));
        long t = states.Shape[1];
        var last = Ops.Squeeze(Ops.Slice(states, 1, t - 1, t), 1);
        return _head.Forward(last);
    }
}
