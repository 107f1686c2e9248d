using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace DualFramework.Samples.SentenceEmbeddings;

/// <summary>The original ONNX file run directly by ONNX Runtime: the reference our imported model is checked against.</summary>
public sealed class OrtMiniLm : IDisposable
{
    private readonly InferenceSession _session;

    /// <summary>Creates an ONNX Runtime session over the model's bytes.</summary>
    public OrtMiniLm(byte[] onnx) => _session = new InferenceSession(onnx);

    /// <summary><c>last_hidden_state</c> <c>[batch.Count, batch.Length, 384]</c>, row-major.</summary>
    public float[] LastHiddenState(SentenceBatch batch)
    {
        int[] dims = [batch.Count, batch.Length];
        var feeds = new[]
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(batch.InputIds, dims)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(batch.AttentionMask, dims)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(batch.TokenTypeIds, dims)),
        };
        using var outputs = _session.Run(feeds, ["last_hidden_state"]);
        return outputs[0].AsTensor<float>().ToArray();
    }

    /// <summary>Unit-length mean-pooled embeddings of <paramref name="batch"/>, pooled on the host in double precision.</summary>
    public double[][] Embed(SentenceBatch batch) => Pooling.MeanPoolNormalized(LastHiddenState(batch), batch, MiniLmEncoder.Width);

    /// <summary>Disposes the session.</summary>
    public void Dispose() => _session.Dispose();
}
