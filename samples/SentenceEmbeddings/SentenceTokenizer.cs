using Microsoft.ML.Tokenizers;

namespace DualFramework.Samples.SentenceEmbeddings;

/// <summary>
/// all-MiniLM-L6-v2's tokenizer: Microsoft.ML.Tokenizers' BERT WordPiece tokenizer over the package's vocabulary, lower-casing
/// and stripping accents (the model is uncased), each sentence as <c>[CLS] … [SEP]</c>; batches are padded with [PAD].
/// </summary>
public sealed class SentenceTokenizer
{
    /// <summary>Longest sequence the sentence-transformers configuration of the model feeds it (its position table has 512).</summary>
    public const int MaxTokens = 256;

    private readonly BertTokenizer _bert;

    private SentenceTokenizer(BertTokenizer bert) => _bert = bert;

    /// <summary>Creates the tokenizer from the vocabulary embedded in the model's package.</summary>
    public static SentenceTokenizer Load()
    {
        using var vocabulary = MiniLmFiles.OpenVocabulary();
        // As Hugging Face's uncased BERT tokenizer: lower-case and strip accents (the vocabulary has "cafe", not "café";
        // without RemoveNonSpacingMarks an accented word becomes [UNK]).
        return new SentenceTokenizer(BertTokenizer.Create(vocabulary, new BertOptions { LowerCaseBeforeTokenization = true, RemoveNonSpacingMarks = true }));
    }

    /// <summary>
    /// Whether accents are stripped ("café" → "cafe"). The tokenizer decomposes text with <see cref="string.Normalize(System.Text.NormalizationForm)"/>,
    /// which needs ICU: in .NET's globalization-invariant mode (this repository's default, which this sample turns off)
    /// it returns text unchanged and an accented word becomes [UNK].
    /// </summary>
    public static bool StripsAccents { get; } = "\u00e9".Normalize(System.Text.NormalizationForm.FormD).Length == 2;

    /// <summary>Id of [CLS], which starts every sentence.</summary>
    public int ClassificationId => _bert.ClassificationTokenId;

    /// <summary>Id of [SEP], which ends every sentence.</summary>
    public int SeparatorId => _bert.SeparatorTokenId;

    /// <summary>Id of [PAD], which fills a row after its sentence.</summary>
    public int PaddingId => _bert.PaddingTokenId;

    /// <summary>Id of [UNK], for a word the vocabulary cannot spell.</summary>
    public int UnknownId => _bert.UnknownTokenId;

    /// <summary>The ids of <paramref name="sentence"/>: [CLS], its word pieces, [SEP]; at most <paramref name="maxTokens"/>
    /// (the word pieces are cut, [SEP] stays last).</summary>
    public int[] Encode(string sentence, int maxTokens = MaxTokens)
    {
        ArgumentNullException.ThrowIfNull(sentence);
        if (maxTokens < 2) throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, "room for [CLS] and [SEP] is needed");
        var ids = _bert.EncodeToIds(sentence).ToArray();
        if (ids.Length <= maxTokens) return ids;
        ids[maxTokens - 1] = SeparatorId;
        return ids[..maxTokens];
    }

    /// <summary>The text of <paramref name="ids"/> without the special tokens, word pieces joined.</summary>
    public string Decode(IEnumerable<int> ids) => _bert.Decode(ids, skipSpecialTokens: true);

    /// <summary>
    /// Tokenizes <paramref name="sentences"/> into one batch padded to the longest of them, or to exactly
    /// <paramref name="length"/> tokens when given (longer sentences are cut to it, as <see cref="Encode"/> cuts them).
    /// </summary>
    public SentenceBatch EncodeBatch(IReadOnlyList<string> sentences, int? length = null)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        if (sentences.Count == 0) throw new ArgumentException("no sentences", nameof(sentences));
        var rows = sentences.Select(s => Encode(s, length ?? MaxTokens)).ToArray();
        int width = length ?? rows.Max(r => r.Length);
        var ids = new long[rows.Length * width];
        var mask = new long[ids.Length];
        if (PaddingId != 0) Array.Fill(ids, PaddingId);
        for (int r = 0; r < rows.Length; r++)
            for (int t = 0; t < rows[r].Length; t++)
            {
                ids[r * width + t] = rows[r][t];
                mask[r * width + t] = 1;
            }
        return new SentenceBatch(rows.Length, width, ids, mask, new long[ids.Length]);
    }
}
