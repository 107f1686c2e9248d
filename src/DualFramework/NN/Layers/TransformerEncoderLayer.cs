namespace DualFramework.NN;

/// <summary>
/// One Transformer encoder block (PyTorch's <c>nn.TransformerEncoderLayer</c>): self-attention and a feed-forward
/// network <c>linear2(dropout(activation(linear1(x))))</c>, each with dropout and a residual connection, with layer
/// normalisation after each residual sum (post-norm, default) or before each sublayer (<c>normFirst</c>).
/// </summary>
/// <remarks>
/// Children, in PyTorch's order and names: <c>self_attn</c>, <c>linear1</c>, <c>dropout</c>, <c>linear2</c>, <c>norm1</c>,
/// <c>norm2</c>, <c>dropout1</c>, <c>dropout2</c>. Draw order from the construction generator follows the same order
/// (self_attn's draws, linear1's, dropout's seed, linear2's, dropout1's seed, dropout2's seed; the norms draw nothing).
/// </remarks>
public sealed class TransformerEncoderLayer : Module
{
    private const string Layer = nameof(TransformerEncoderLayer);
    private readonly Func<Tensor, Tensor> _activation;

    /// <summary>Creates the block.</summary>
    /// <param name="dModel">Model width.</param>
    /// <param name="nHead">Attention heads (must divide <paramref name="dModel"/>).</param>
    /// <param name="dimFeedforward">Hidden width of the feed-forward network.</param>
    /// <param name="dropout">Dropout probability (attention weights, feed-forward hidden layer and both residual branches).</param>
    /// <param name="activation">The feed-forward activation (ReLU by default, or exact GELU).</param>
    /// <param name="layerNormEps">Epsilon of both layer norms.</param>
    /// <param name="batchFirst">Inputs are <c>[B, L, E]</c> when true, <c>[L, B, E]</c> when false.</param>
    /// <param name="normFirst">Pre-norm (normalise before each sublayer) instead of post-norm.</param>
    /// <param name="bias">Whether the linear layers, attention projections and layer norms have biases.</param>
    /// <param name="rng">Initialisation generator; null forks the process-wide one.</param>
    public TransformerEncoderLayer(long dModel, long nHead, long dimFeedforward = 2048, double dropout = 0.1,
        FeedForwardActivation activation = FeedForwardActivation.Relu,
        double layerNormEps = 1e-5, bool batchFirst = true, bool normFirst = false, bool bias = true, SeededRandom? rng = null)
    {
        LayerChecks.Positive(Layer, "d_model", dModel);
        LayerChecks.Positive(Layer, "nhead", nHead);
        LayerChecks.Positive(Layer, "dim_feedforward", dimFeedforward);
        LayerChecks.Probability(Layer, "dropout", dropout);
        _activation = activation switch
        {
            FeedForwardActivation.Relu => Ops.Relu,
            FeedForwardActivation.Gelu => x => Ops.Gelu(x),
            _ => throw new ArgumentException($"{Layer}: activation must be Relu or Gelu, got {activation}.", nameof(activation)),
        };
        Activation = activation;
        NormFirst = normFirst;
        var r = Init.Resolve(rng);
        SelfAttn = RegisterModule("self_attn", new MultiHeadAttention(dModel, nHead, dropout, bias, batchFirst, r));
        Linear1 = RegisterModule("linear1", new Linear(dModel, dimFeedforward, bias, r));
        DropoutFf = RegisterModule("dropout", new Dropout(dropout, r));
        Linear2 = RegisterModule("linear2", new Linear(dimFeedforward, dModel, bias, r));
        Norm1 = RegisterModule("norm1", new LayerNorm(dModel, layerNormEps, true, bias));
        Norm2 = RegisterModule("norm2", new LayerNorm(dModel, layerNormEps, true, bias));
        Dropout1 = RegisterModule("dropout1", new Dropout(dropout, r));
        Dropout2 = RegisterModule("dropout2", new Dropout(dropout, r));
    }

    /// <summary>The feed-forward activation.</summary>
    public FeedForwardActivation Activation { get; }

    /// <summary>Whether the block is pre-norm.</summary>
    public bool NormFirst { get; }

    /// <summary>Self-attention (<c>self_attn</c>).</summary>
    public MultiHeadAttention SelfAttn { get; }

    /// <summary>First feed-forward layer (<c>linear1</c>, d_model → dim_feedforward).</summary>
    public Linear Linear1 { get; }

    /// <summary>Dropout on the feed-forward hidden layer (<c>dropout</c>).</summary>
    public Dropout DropoutFf { get; }

    /// <summary>Second feed-forward layer (<c>linear2</c>, dim_feedforward → d_model).</summary>
    public Linear Linear2 { get; }

    /// <summary>Norm of the attention sublayer (<c>norm1</c>).</summary>
    public LayerNorm Norm1 { get; }

    /// <summary>Norm of the feed-forward sublayer (<c>norm2</c>).</summary>
    public LayerNorm Norm2 { get; }

    /// <summary>Dropout on the attention branch (<c>dropout1</c>).</summary>
    public Dropout Dropout1 { get; }

    /// <summary>Dropout on the feed-forward branch (<c>dropout2</c>).</summary>
    public Dropout Dropout2 { get; }

    /// <summary>The block without masks.</summary>
    public override Tensor Forward(Tensor input) => Block(input, null, null);

    /// <summary>Runs the block on <paramref name="src"/> (<c>[B, L, E]</c>, <c>[L, B, E]</c> when not batch-first, or
    /// <c>[L, E]</c>), with the attention masks of <see cref="MultiHeadAttention.Forward(Tensor, Tensor, Tensor, Tensor?, Tensor?, bool, bool)"/>.</summary>
    /// <param name="src">The sequence.</param>
    /// <param name="srcMask">Attention mask <c>[L, L]</c> or <c>[B·H, L, L]</c> (bool: true = masked out; float: added).</param>
    /// <param name="srcKeyPaddingMask">Padding mask <c>[B, L]</c> (bool: true = padding; float: added).</param>
    public Tensor Forward(Tensor src, Tensor? srcMask = null, Tensor? srcKeyPaddingMask = null)
    {
        using var _ = EnterLayer();
        return Block(src, srcMask, srcKeyPaddingMask);
    }

    private Tensor Block(Tensor src, Tensor? mask, Tensor? keyPadding)
    {
        ArgumentNullException.ThrowIfNull(src);
        var x = src;
        if (NormFirst)
        {
            x = Ops.Add(x, AttentionBranch(Norm1.Call(x), mask, keyPadding));
            return Ops.Add(x, FeedForwardBranch(Norm2.Call(x)));
        }
        x = Norm1.Call(Ops.Add(x, AttentionBranch(x, mask, keyPadding)));
        return Norm2.Call(Ops.Add(x, FeedForwardBranch(x)));
    }

    private Tensor AttentionBranch(Tensor x, Tensor? mask, Tensor? keyPadding) =>
        Dropout1.Call(SelfAttn.Forward(x, x, x, mask, keyPadding, needWeights: false).Output);

    private Tensor FeedForwardBranch(Tensor x) => Dropout2.Call(Linear2.Call(DropoutFf.Call(_activation(Linear1.Call(x)))));
}
