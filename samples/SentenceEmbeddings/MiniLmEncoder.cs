using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.NN;
using DualFramework.Onnx;

namespace DualFramework.Samples.SentenceEmbeddings;

/// <summary>
/// all-MiniLM-L6-v2 imported once with <see cref="OnnxImporter"/> (its 103 float initializers become the module's state),
/// turning sentences into unit-length 384-d embeddings on any backend.
/// </summary>
public sealed class MiniLmEncoder : IDisposable
{
    /// <summary>Width of the token states and of the embeddings.</summary>
    public const int Width = 384;

    /// <summary>
    /// The ONNX value entering the last of the six transformer layers (the output of layer 4's final LayerNorm in this
    /// PyTorch export): <see cref="ImportedModel.InitializersAfter"/> of it is layer 5's weights (and the unused pooler's).
    /// </summary>
    public const string LastLayerInput = "791";

    /// <summary>Imports the model from the package's resource.</summary>
    public MiniLmEncoder(SentenceTokenizer tokenizer) : this(tokenizer, MiniLmFiles.ReadModel()) { }

    /// <summary>Imports the model from its ONNX bytes.</summary>
    public MiniLmEncoder(SentenceTokenizer tokenizer, byte[] onnx)
    {
        Tokenizer = tokenizer;
        Model = OnnxImporter.FromBytes(onnx);
        // No dropout or batch norm nodes in this export; evaluation mode states that Forward computes inference.
        Model.Eval();
    }

    /// <summary>The imported model: inputs input_ids, attention_mask, token_type_ids; outputs last_hidden_state and the
    /// pooler's output.</summary>
    public ImportedModel Model { get; }

    /// <summary>The tokenizer the encoder's batches come from.</summary>
    public SentenceTokenizer Tokenizer { get; }

    /// <summary>Unit-length embeddings <c>[B, 384]</c> of <paramref name="batch"/> computed by the compiled graph on
    /// <paramref name="backend"/> (no gradients), in the caller's tensor scope.</summary>
    public Tensor Embed(SentenceBatch batch, IComputeBackend backend)
    {
        using var noGrad = Autograd.NoGrad();
        var inputs = batch.ToTensors(backend);
        var hidden = Model.Run(backend, inputs)[0];
        return Pooling.MeanPoolNormalized(hidden, inputs[1]);
    }

    /// <summary><see cref="Embed(SentenceBatch, IComputeBackend)"/> of sentences padded to the longest, copied to the host
    /// as <c>[B][384]</c>.</summary>
    public double[][] Embed(IReadOnlyList<string> sentences, IComputeBackend backend)
    {
        using var scope = TensorScope.Begin();
        var flat = Embed(Tokenizer.EncodeBatch(sentences), backend).ToDoubleArray();
        return Enumerable.Range(0, sentences.Count).Select(r => flat.AsSpan(r * Width, Width).ToArray()).ToArray();
    }

    /// <summary>Unit-length embeddings <c>[B, 384]</c> through <see cref="ImportedModel.Forward(Tensor[])"/> on the current
    /// default backend: applied eagerly, so a loss on them backpropagates into the trainable initializers.</summary>
    public Tensor EmbedForTraining(SentenceBatch batch)
    {
        var inputs = batch.ToTensors(BackendRegistry.Default);
        var hidden = Model.Forward(inputs)[0];
        return Pooling.MeanPoolNormalized(hidden, inputs[1]);
    }

    /// <summary>Disposes the imported model.</summary>
    public void Dispose() => Model.Dispose();
}
