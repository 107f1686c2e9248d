using System.Text.RegularExpressions;

namespace DualFramework.Samples.SentenceEmbeddings;

/// <summary>Two sentences and whether they come from the same license (the fine-tuning target: cosine 1, else 0).</summary>
public sealed record SentencePair(string First, string Second, bool Same);

/// <summary>
/// A sentence-pair task from the license texts every Debian system ships in <c>/usr/share/common-licenses</c> (package
/// base-files): sentences are grouped by license family (the file name without its version: GPL-1, GPL-2 and GPL-3 are
/// one family), and a pair is positive when both sentences come from the same family. Every fourth sentence of each family
/// is held out, so held-out pairs share no sentence with training pairs.
/// </summary>
public sealed partial class LicensePairs
{
    /// <summary>The folder read when none is given.</summary>
    public const string DefaultFolder = "/usr/share/common-licenses";

    /// <summary>Shortest and longest sentence kept, in words: headings and long enumerations say little about a text.</summary>
    public const int MinWords = 6, MaxWords = 40;

    private LicensePairs(IReadOnlyDictionary<string, string[]> train, IReadOnlyDictionary<string, string[]> heldOut)
    {
        Train = train;
        HeldOut = heldOut;
    }

    /// <summary>Training sentences per family.</summary>
    public IReadOnlyDictionary<string, string[]> Train { get; }

    /// <summary>Held-out sentences per family.</summary>
    public IReadOnlyDictionary<string, string[]> HeldOut { get; }

    /// <summary>Reads the regular files of <paramref name="folder"/> (the links there point at the same texts).</summary>
    public static LicensePairs Load(string folder = DefaultFolder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"text folder '{folder}' does not exist (Debian's base-files package provides {DefaultFolder})");
        var files = Directory.GetFiles(folder).Where(f => new FileInfo(f).LinkTarget == null).Order(StringComparer.Ordinal).ToArray();
        var byFamily = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            string family = Version().Replace(Path.GetFileName(file), "");
            if (!byFamily.TryGetValue(family, out var list)) byFamily[family] = list = [];
            list.AddRange(Sentences(File.ReadAllText(file)));
        }
        // A sentence found in two families (boilerplate shared by GPL and LGPL, say) has no single right answer: dropped.
        var families = byFamily.ToDictionary(f => f.Key, f => f.Value.Distinct(StringComparer.Ordinal).ToArray());
        var shared = families.Values.SelectMany(s => s).GroupBy(s => s, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        var kept = families.ToDictionary(f => f.Key, f => f.Value.Where(s => !shared.Contains(s)).ToArray());
        var usable = kept.Where(f => f.Value.Length >= 8).ToArray();
        if (usable.Length < 2) throw new InvalidDataException($"'{folder}' holds fewer than two texts with 8 sentences or more");
        return new LicensePairs(
            usable.ToDictionary(f => f.Key, f => f.Value.Where((_, i) => i % 4 != 3).ToArray()),
            usable.ToDictionary(f => f.Key, f => f.Value.Where((_, i) => i % 4 == 3).ToArray()));
    }

    /// <summary>The sentences of <paramref name="text"/> with <see cref="MinWords"/> to <see cref="MaxWords"/> words,
    /// whitespace collapsed.</summary>
    public static IEnumerable<string> Sentences(string text)
    {
        string flat = Whitespace().Replace(text, " ");
        foreach (var s in SentenceEnd().Split(flat))
        {
            string sentence = s.Trim();
            int words = sentence.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
            // Mostly letters: drops separator lines, section numbers and addresses.
            if (words >= MinWords && words <= MaxWords && sentence.Count(char.IsLetter) > 0.7 * sentence.Length) yield return sentence;
        }
    }

    /// <summary>
    /// <paramref name="count"/> pairs drawn with <paramref name="seed"/> from <see cref="Train"/> or <see cref="HeldOut"/>,
    /// alternately positive (two different sentences of one family, the family drawn uniformly) and negative (one sentence
    /// each of two different families).
    /// </summary>
    public SentencePair[] Pairs(bool heldOut, int count, int seed)
    {
        var pool = heldOut ? HeldOut : Train;
        var names = pool.Keys.Order(StringComparer.Ordinal).ToArray();
        var rng = new Random(seed);
        string Draw(string family) => pool[family][rng.Next(pool[family].Length)];
        var pairs = new SentencePair[count];
        for (int k = 0; k < count; k++)
        {
            string a = names[rng.Next(names.Length)];
            if (k % 2 == 0)
            {
                var sentences = pool[a];
                int i = rng.Next(sentences.Length), j = (i + 1 + rng.Next(sentences.Length - 1)) % sentences.Length;
                pairs[k] = new SentencePair(sentences[i], sentences[j], true);
            }
            else
            {
                string b = names[(Array.IndexOf(names, a) + 1 + rng.Next(names.Length - 1)) % names.Length];
                pairs[k] = new SentencePair(Draw(a), Draw(b), false);
            }
        }
        return pairs;
    }

    [GeneratedRegex(@"-[0-9][0-9.]*$")]
    private static partial Regex Version();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    // After . ; ! or ? and before a capital letter, an opening quote or parenthesis.
    [GeneratedRegex(@"(?<=[.;!?])\s+(?=[A-Z""(])")]
    private static partial Regex SentenceEnd();
}
