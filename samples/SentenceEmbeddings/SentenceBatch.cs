using DualFramework.Backends;

namespace DualFramework.Samples.SentenceEmbeddings;

/// <summary>
/// A batch of tokenized sentences as the BERT inputs <c>[Count, Length]</c>, row-major: token ids padded with [PAD],
/// an attention mask (1 for a real token, 0 for padding) and token type ids (all 0: one segment per sentence).
/// </summary>
public sealed class SentenceBatch
{
    /// <summary>Creates a batch from its three id arrays of <paramref name="count"/> × <paramref name="length"/> elements.</summary>
    public SentenceBatch(int count, int length, long[] inputIds, long[] attentionMask, long[] tokenTypeIds)
    {
        long n = (long)count * length;
        if (count < 1 || length < 1) throw new ArgumentOutOfRangeException(nameof(count), "a batch has at least one sentence and one token");
        if (inputIds.Length != n || attentionMask.Length != n || tokenTypeIds.Length != n)
            throw new ArgumentException($"each array must hold {count} × {length} ids");
        Count = count;
        Length = length;
        InputIds = inputIds;
        AttentionMask = attentionMask;
        TokenTypeIds = tokenTypeIds;
    }

    /// <summary>Number of sentences (rows).</summary>
    public int Count { get; }

    /// <summary>Tokens per row, padding included.</summary>
    public int Length { get; }

    /// <summary>Token ids, [PAD] after each sentence's [SEP].</summary>
    public long[] InputIds { get; }

    /// <summary>1 where <see cref="InputIds"/> holds a token of the sentence ([CLS] and [SEP] included), 0 on padding.</summary>
    public long[] AttentionMask { get; }

    /// <summary>Segment ids: all 0.</summary>
    public long[] TokenTypeIds { get; }

    /// <summary>Number of real tokens of row <paramref name="row"/>.</summary>
    public int TokenCount(int row)
    {
        int count = 0;
        foreach (long m in AttentionMask.AsSpan(row * Length, Length)) count += (int)m;
        return count;
    }

    /// <summary>The model's three inputs in its order (<c>input_ids</c>, <c>attention_mask</c>, <c>token_type_ids</c>) as
    /// int64 tensors on <paramref name="backend"/>.</summary>
    public Tensor[] ToTensors(IComputeBackend backend)
    {
        var shape = new Shape(Count, Length);
        return [Tensor.FromArray(InputIds, shape, backend), Tensor.FromArray(AttentionMask, shape, backend), Tensor.FromArray(TokenTypeIds, shape, backend)];
    }
}
