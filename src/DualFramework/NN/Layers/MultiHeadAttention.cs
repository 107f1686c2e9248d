namespace DualFramework.NN;

/// <summary>
/// Multi-head scaled dot-product attention (PyTorch's <c>nn.MultiheadAttention</c> with <c>kdim = vdim = embed_dim</c>),
/// written with ops: <c>softmax(Q·Kᵀ/√d + mask)·V</c> per head, then an output projection.
/// </summary>
/// <remarks>
/// State: <c>in_proj_weight</c> <c>[3E, E]</c> (rows: query, key, value projections), <c>in_proj_bias</c> <c>[3E]</c>,
/// <c>out_proj.weight</c> <c>[E, E]</c>, <c>out_proj.bias</c> <c>[E]</c> (biases only with <c>bias</c>). Initialisation and
/// draw order: in_proj_weight Xavier-uniform (fan_in E, fan_out 3E); out_proj.weight Kaiming-uniform a = √5 (U(±1/√E));
/// one draw seeding the attention-dropout <see cref="Generator"/>. Biases start at zero (no draws).
/// </remarks>
public sealed class MultiHeadAttention : Module
{
    private const string Layer = nameof(MultiHeadAttention);

    /// <summary>Creates the layer.</summary>
    /// <param name="embedDim">Model width E (query, key and value feature size).</param>
    /// <param name="numHeads">Number of heads H; E must be divisible by H.</param>
    /// <param name="dropout">Dropout probability on the attention weights (training only).</param>
    /// <param name="bias">Whether the input and output projections have biases.</param>
    /// <param name="batchFirst">Inputs are <c>[B, L, E]</c> when true, <c>[L, B, E]</c> when false.</param>
    /// <param name="rng">Initialisation generator; null forks the process-wide one.</param>
    public MultiHeadAttention(long embedDim, long numHeads, double dropout = 0, bool bias = true, bool batchFirst = true, SeededRandom? rng = null)
    {
        EmbedDim = LayerChecks.Positive(Layer, "embed_dim", embedDim);
        NumHeads = LayerChecks.Positive(Layer, "num_heads", numHeads);
        if (embedDim % numHeads != 0)
            throw new ArgumentException($"{Layer}: embed_dim ({embedDim}) must be divisible by num_heads ({numHeads}).", nameof(numHeads));
        DropoutP = LayerChecks.Probability(Layer, "dropout", dropout);
        BatchFirst = batchFirst;
        var r = Init.Resolve(rng);
        InProjWeight = RegisterParameter("in_proj_weight", Init.XavierUniform(new Shape(3 * embedDim, embedDim), embedDim, 3 * embedDim, r));
        if (bias) InProjBias = RegisterParameter("in_proj_bias", Ops.Zeros(new Shape(3 * embedDim)));
        OutProj = RegisterModule("out_proj", new Linear(embedDim, embedDim, bias, r, zeroBias: true));
        Generator = new Generator(r.NextUInt64());
    }

    /// <summary>Model width E.</summary>
    public long EmbedDim { get; }

    /// <summary>Number of heads H.</summary>
    public long NumHeads { get; }

    /// <summary>Per-head width E/H.</summary>
    public long HeadDim => EmbedDim / NumHeads;

    /// <summary>Dropout probability on the attention weights.</summary>
    public double DropoutP { get; }

    /// <summary>Whether inputs are batch-first.</summary>
    public bool BatchFirst { get; }

    /// <summary>Stacked query/key/value projection weights <c>[3E, E]</c>.</summary>
    public Variable InProjWeight { get; }

    /// <summary>Stacked projection biases <c>[3E]</c>, or null.</summary>
    public Variable? InProjBias { get; }

    /// <summary>The output projection.</summary>
    public Linear OutProj { get; }

    /// <summary>Source of attention-dropout seeds.</summary>
    public Generator Generator { get; }

    /// <summary>Self-attention: <c>Forward(x, x, x).Output</c>.</summary>
    public override Tensor Forward(Tensor input) => Attend(input, input, input, null, null, false, true).Output;

    /// <summary>
    /// Attends from <paramref name="query"/> (<c>[B, L, E]</c>, or <c>[L, B, E]</c> when not batch-first, or unbatched
    /// <c>[L, E]</c>) to <paramref name="key"/>/<paramref name="value"/> (<c>[B, S, E]</c> in the same layout).
    /// </summary>
    /// <param name="query">Queries.</param>
    /// <param name="key">Keys.</param>
    /// <param name="value">Values.</param>
    /// <param name="attnMask"><c>[L, S]</c> or <c>[B·H, L, S]</c> (<c>[H, L, S]</c> unbatched): a float mask is added to
    /// the scores; a bool mask excludes the positions that are true.</param>
    /// <param name="keyPaddingMask"><c>[B, S]</c> (<c>[S]</c> unbatched): bool, true = padding to ignore, or float, added.</param>
    /// <param name="needWeights">Also return the attention weights (after dropout, as PyTorch).</param>
    /// <param name="averageAttnWeights">Average the returned weights over heads (<c>[B, L, S]</c>) instead of
    /// returning them per head (<c>[B, H, L, S]</c>).</param>
    /// <returns>The output in the query's layout and, when requested, the weights (batch-first, or without the batch axis
    /// for unbatched inputs). A query whose keys are all masked gets NaN, as in PyTorch.</returns>
    public (Tensor Output, Tensor? Weights) Forward(Tensor query, Tensor key, Tensor value, Tensor? attnMask = null,
        Tensor? keyPaddingMask = null, bool needWeights = false, bool averageAttnWeights = true)
    {
        using var _ = EnterLayer();
        return Attend(query, key, value, attnMask, keyPaddingMask, needWeights, averageAttnWeights);
    }

    private (Tensor Output, Tensor? Weights) Attend(Tensor query, Tensor key, Tensor value, Tensor? attnMask, Tensor? keyPaddingMask,
        bool needWeights, bool averageWeights)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        Tensor[] qkv = [query, key, value];
        if (query.Rank is not (2 or 3) || key.Rank != query.Rank || value.Rank != query.Rank)
            throw LayerChecks.InputError(Layer, qkv, "query, key and value must all be rank 3 (batched) or all rank 2 (unbatched)");
        bool batched = query.Rank == 3;
        foreach (var t in qkv)
        {
            if (!t.DType.IsFloating()) throw LayerChecks.InputError(Layer, qkv, $"query, key and value must be floating, got {t.DType.Name()}");
            if (t.Shape[-1] != EmbedDim)
                throw LayerChecks.InputError(Layer, qkv, $"expects feature size embed_dim = {EmbedDim}, got shapes {query.Shape}, {key.Shape}, {value.Shape}");
        }
        // Work batch-first: [B, L, E].
        Tensor ToBatchFirst(Tensor t) => !batched ? Ops.Unsqueeze(t, 0) : BatchFirst ? t : Ops.Transpose(t, 0, 1);
        Tensor q = ToBatchFirst(query), k = ToBatchFirst(key), v = ToBatchFirst(value);
        long b = q.Shape[0], l = q.Shape[1], s = k.Shape[1], e = EmbedDim, h = NumHeads, d = HeadDim;
        if (k.Shape[0] != b || v.Shape[0] != b)
            throw LayerChecks.InputError(Layer, qkv, $"query, key and value must have the same batch size, got shapes {query.Shape}, {key.Shape}, {value.Shape}");
        if (v.Shape[1] != s)
            throw LayerChecks.InputError(Layer, qkv, $"key and value must have the same sequence length, got shapes {key.Shape} and {value.Shape}");

        var dt = DTypes.ToFloating(DTypes.Promote(query.DType, InProjWeight.Spec.DType));
        var mask = CombinedMask(attnMask, keyPaddingMask, batched, b, l, s, dt);

        Tensor Project(Tensor x, int i)
        {
            var w = Ops.Slice(InProjWeight.Value, 0, i * e, (i + 1) * e);
            var y = Ops.MatMul(x, Ops.Transpose(w));
            if (InProjBias != null) y = Ops.Add(y, Ops.Slice(InProjBias.Value, 0, i * e, (i + 1) * e));
            return y;
        }
        // [B, T, E] -> [B, H, T, D]
        Tensor Heads(Tensor x, long t) => Ops.Permute(Ops.Reshape(x, b, t, h, d), 0, 2, 1, 3);

        // Scaling q before the product (rather than the scores) follows PyTorch's order of rounding.
        var qh = Heads(Ops.Mul(Project(q, 0), 1.0 / Math.Sqrt(d)), l);
        var kh = Heads(Project(k, 1), s);
        var vh = Heads(Project(v, 2), s);
        var scores = Ops.MatMul(qh, Ops.Transpose(kh));
        if (mask != null) scores = Ops.Add(scores, mask);
        var attn = Ops.Softmax(scores, -1);
        if (Training && DropoutP > 0) attn = Ops.Dropout(attn, DropoutP, true, Generator);
        var ctx = Ops.Reshape(Ops.Permute(Ops.MatMul(attn, vh), 0, 2, 1, 3), b, l, e);
        var output = OutProj.Call(ctx);
        output = !batched ? Ops.Squeeze(output, 0) : BatchFirst ? output : Ops.Transpose(output, 0, 1);

        if (!needWeights) return (output, null);
        var weights = averageWeights ? Ops.Mean(attn, 1) : attn;
        return (output, batched ? weights : Ops.Squeeze(weights, 0));
    }

    // Both masks as one additive float tensor broadcastable to the scores [B, H, L, S] (or null).
    private Tensor? CombinedMask(Tensor? attnMask, Tensor? keyPaddingMask, bool batched, long b, long l, long s, DType dt)
    {
        Tensor? mask = null;
        if (attnMask != null)
        {
            var m = Additive(attnMask, "attn_mask", dt);
            if (m.Rank == 2 && m.Shape == new Shape(l, s)) mask = m;
            else if (m.Rank == 3 && m.Shape == new Shape(b * NumHeads, l, s)) mask = Ops.Reshape(m, b, NumHeads, l, s);
            else
                throw LayerChecks.InputError(Layer, attnMask,
                    $"attn_mask must have shape [{l}, {s}] or [{b * NumHeads}, {l}, {s}]{(batched ? "" : " (heads, L, S) for unbatched inputs")}, got {attnMask.Shape}");
        }
        if (keyPaddingMask != null)
        {
            var expected = batched ? new Shape(b, s) : new Shape(s);
            if (keyPaddingMask.Shape != expected)
                throw LayerChecks.InputError(Layer, keyPaddingMask, $"key_padding_mask must have shape {expected}, got {keyPaddingMask.Shape}");
            var m = Ops.Reshape(Additive(keyPaddingMask, "key_padding_mask", dt), b, 1, 1, s);
            mask = mask == null ? m : Ops.Add(mask, m);
        }
        return mask;
    }

    private static Tensor Additive(Tensor mask, string name, DType dt)
    {
        if (mask.DType == DType.Bool)
            return Ops.Where(mask, Ops.Full(mask.Shape, double.NegativeInfinity, dt, mask.Backend), 0.0);
        if (mask.DType.IsFloating()) return mask.DType == dt ? mask : Ops.Cast(mask, dt);
        throw LayerChecks.InputError(Layer, mask, $"{name} must be bool or floating, got {mask.DType.Name()}");
    }
}
