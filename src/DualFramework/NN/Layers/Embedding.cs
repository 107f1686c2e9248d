namespace DualFramework.NN;

/// <summary>
/// A lookup table of <see cref="NumEmbeddings"/> vectors of size <see cref="EmbeddingDim"/> (PyTorch's <c>nn.Embedding</c>,
/// without <c>padding_idx</c>, <c>max_norm</c> and sparse gradients). Parameter <c>weight</c> <c>[num, dim]</c>, initialised
/// N(0, 1) (its only draws, in row-major order).
/// </summary>
public sealed class Embedding : Module
{
    /// <summary>Creates the table.</summary>
    /// <param name="numEmbeddings">Vocabulary size.</param>
    /// <param name="embeddingDim">Vector size.</param>
    /// <param name="rng">Initialisation generator; null forks the process-wide one.</param>
    public Embedding(long numEmbeddings, long embeddingDim, SeededRandom? rng = null)
    {
        NumEmbeddings = LayerChecks.Positive(nameof(Embedding), "num_embeddings", numEmbeddings);
        EmbeddingDim = LayerChecks.Positive(nameof(Embedding), "embedding_dim", embeddingDim);
        Weight = RegisterParameter("weight", Init.Normal(new Shape(numEmbeddings, embeddingDim), 0, 1, Init.Resolve(rng)));
    }

    /// <summary>Vocabulary size.</summary>
    public long NumEmbeddings { get; }

    /// <summary>Vector size.</summary>
    public long EmbeddingDim { get; }

    /// <summary>The table <c>[num, dim]</c>.</summary>
    public Variable Weight { get; }

    /// <summary>Looks up integer ids of any shape; the result has shape <c>ids.shape + [dim]</c>.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!input.DType.IsInteger() || input.DType == DType.Bool)
            throw LayerChecks.InputError(nameof(Embedding), input, $"expects integer ids, got {input.DType.Name()}");
        return Ops.Embedding(Weight.Value, input);
    }
}
