using DualFramework.Data;

namespace DualFramework.Samples.TextLstm;

/// <summary>Plain text as character ids: the license texts every Debian system ships in <c>/usr/share/common-licenses</c>
/// (package base-files), the regular files in name order (the links there point at the same texts).</summary>
public sealed class Corpus
{
    /// <summary>The folder read when none is given.</summary>
    public const string DefaultFolder = "/usr/share/common-licenses";

    private readonly Dictionary<char, int> _ids;

    /// <summary>Reads the folder's regular files (UTF-8), joined by newlines.</summary>
    public Corpus(string folder = DefaultFolder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"text folder '{folder}' does not exist (Debian's base-files package provides {DefaultFolder})");
        var files = Directory.GetFiles(folder).Where(f => new FileInfo(f).LinkTarget == null).Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0) throw new InvalidDataException($"text folder '{folder}' has no regular files");
        Files = files;
        Text = string.Join('\n', files.Select(File.ReadAllText));
        Vocabulary = Text.Distinct().Order().ToArray();
        _ids = Vocabulary.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
        Ids = Text.Select(c => _ids[c]).ToArray();
    }

    /// <summary>The files read.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>The whole text.</summary>
    public string Text { get; }

    /// <summary>The distinct characters, in code order; a character's id is its index here.</summary>
    public char[] Vocabulary { get; }

    /// <summary>The text as ids.</summary>
    public int[] Ids { get; }

    /// <summary>The ids of <paramref name="text"/> (characters outside the vocabulary are an error).</summary>
    public int[] Encode(string text) => text.Select(c => _ids.TryGetValue(c, out var id) ? id : throw new ArgumentException($"character '{c}' is not in the vocabulary", nameof(text))).ToArray();

    /// <summary>Examples of the ids in [<paramref name="start"/>, <paramref name="end"/>): every <paramref name="stride"/>-th
    /// window of <paramref name="length"/> ids (as floats) labelled with the id after it.</summary>
    public Dataset<Example> Windows(int length, int stride, int start, int end)
    {
        if (length < 1 || stride < 1) throw new ArgumentOutOfRangeException(nameof(length), "length and stride must be positive");
        int count = Math.Max(0, (end - start - length - 1) / stride + 1);
        var features = new float[(long)count * length];
        var labels = new long[count];
        for (int e = 0; e < count; e++)
        {
            int p = start + e * stride;
            for (int t = 0; t < length; t++) features[(long)e * length + t] = Ids[p + t];
            labels[e] = Ids[p + length];
        }
        return Dataset.FromArrays(features, [length], labels);
    }
}
