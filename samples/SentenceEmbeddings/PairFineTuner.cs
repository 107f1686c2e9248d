using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.Optim;

namespace DualFramework.Samples.SentenceEmbeddings;

/// <summary>Held-out figures of a sentence-pair task.</summary>
/// <param name="Loss">Mean squared difference between each pair's cosine similarity and its label (1 same, 0 different).</param>
/// <param name="SameCosine">Mean cosine similarity of the positive pairs.</param>
/// <param name="DifferentCosine">Mean cosine similarity of the negative pairs.</param>
/// <param name="Auc">Area under the ROC curve of cosine similarity as a same/different score: the probability that a random
/// positive pair scores above a random negative one (ties count half); 0.5 is chance.</param>
public sealed record PairMetrics(double Loss, double SameCosine, double DifferentCosine, double Auc);

/// <summary>
/// Fine-tunes the top of the imported model on sentence pairs (sentence-transformers' CosineSimilarityLoss: the squared
/// difference between the pair's cosine similarity and its label), with everything below <see cref="MiniLmEncoder.LastLayerInput"/>
/// frozen. Steps run <see cref="Onnx.ImportedModel.Forward(Tensor[])"/> eagerly on the current default backend, every batch
/// padded to <see cref="Length"/> tokens so that one graph serves them all.
/// </summary>
public sealed class PairFineTuner : IDisposable
{
    private readonly MiniLmEncoder _encoder;
    private readonly Adam _optimizer;

    /// <summary>Freezes the model below <paramref name="fromValue"/> and creates the optimizer (Adam) over the rest.</summary>
    public PairFineTuner(MiniLmEncoder encoder, double learningRate, int length = 48, string fromValue = MiniLmEncoder.LastLayerInput)
    {
        _encoder = encoder;
        Length = length;
        var top = encoder.Model.InitializersAfter(fromValue);
        encoder.Model.Freeze();
        encoder.Model.Unfreeze(top.Contains);
        TrainableNames = top;
        _optimizer = new Adam(encoder.Model.Parameters(), learningRate);
    }

    /// <summary>Tokens per row of every batch (longer sentences are cut).</summary>
    public int Length { get; }

    /// <summary>ONNX names of the initializers being trained.</summary>
    public IReadOnlySet<string> TrainableNames { get; }

    /// <summary>Number of trained elements.</summary>
    public long TrainableElements => _encoder.Model.ParameterCount();

    /// <summary>One optimizer step on <paramref name="pairs"/> (both sentences of every pair in one batch); returns the
    /// batch's loss before the step.</summary>
    public double Step(IReadOnlyList<SentencePair> pairs)
    {
        using var scope = TensorScope.Begin();
        _optimizer.ZeroGrad();
        var loss = Loss(pairs);
        double value = loss.Item();
        loss.Backward();
        _optimizer.Step();
        return value;
    }

    /// <summary>The loss of <paramref name="pairs"/> through <see cref="Onnx.ImportedModel.Forward(Tensor[])"/>, with autograd.</summary>
    public Tensor Loss(IReadOnlyList<SentencePair> pairs)
    {
        var (batch, labels) = Encode(pairs);
        var embeddings = _encoder.EmbedForTraining(batch);
        int n = pairs.Count;
        var cosine = Pooling.RowCosine(Ops.Slice(embeddings, 0, 0, n), Ops.Slice(embeddings, 0, n, 2 * n));
        var error = cosine - Tensor.FromArray(labels, new Shape(n));
        return Ops.Mean(error * error);
    }

    /// <summary>Metrics of <paramref name="pairs"/> with the current weights, computed by the compiled graph on
    /// <paramref name="backend"/> in batches of <paramref name="batchPairs"/> pairs padded to <see cref="Length"/>.</summary>
    public PairMetrics Evaluate(IReadOnlyList<SentencePair> pairs, IComputeBackend backend, int batchPairs = 32)
    {
        var cosines = new double[pairs.Count];
        using (Autograd.NoGrad())
            for (int start = 0; start < pairs.Count; start += batchPairs)
            {
                using var scope = TensorScope.Begin();
                var chunk = pairs.Skip(start).Take(batchPairs).ToArray();
                var embeddings = _encoder.Embed(Encode(chunk).Batch, backend);
                int n = chunk.Length;
                Pooling.RowCosine(Ops.Slice(embeddings, 0, 0, n), Ops.Slice(embeddings, 0, n, 2 * n)).ToDoubleArray().CopyTo(cosines, start);
            }
        return Metrics(cosines, pairs.Select(p => p.Same).ToArray());
    }

    /// <summary>The metrics of pairs whose cosine similarities are <paramref name="cosines"/> and labels <paramref name="same"/>.</summary>
    public static PairMetrics Metrics(IReadOnlyList<double> cosines, IReadOnlyList<bool> same)
    {
        var positive = cosines.Where((_, i) => same[i]).ToArray();
        var negative = cosines.Where((_, i) => !same[i]).ToArray();
        if (positive.Length == 0 || negative.Length == 0) throw new ArgumentException("metrics need positive and negative pairs");
        double loss = cosines.Select((c, i) => (c - (same[i] ? 1 : 0)) * (c - (same[i] ? 1 : 0))).Average();
        double wins = positive.Sum(p => negative.Sum(q => p > q ? 1.0 : p == q ? 0.5 : 0.0));
        return new PairMetrics(loss, positive.Average(), negative.Average(), wins / ((double)positive.Length * negative.Length));
    }

    // First sentences in rows [0, n), second sentences in [n, 2n).
    private (SentenceBatch Batch, float[] Labels) Encode(IReadOnlyList<SentencePair> pairs) =>
        (_encoder.Tokenizer.EncodeBatch(pairs.Select(p => p.First).Concat(pairs.Select(p => p.Second)).ToArray(), Length),
         pairs.Select(p => p.Same ? 1f : 0f).ToArray());

    /// <summary>Disposes the optimizer (the model stays with the encoder).</summary>
    public void Dispose() => _optimizer.Dispose();
}
