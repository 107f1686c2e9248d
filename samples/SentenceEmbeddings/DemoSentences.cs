namespace DualFramework.Samples.SentenceEmbeddings;

/// <summary>Sentences of different lengths for the similarity table: four pairs of paraphrases, each pair about one topic.</summary>
public static class DemoSentences
{
    /// <summary>Paraphrases two by two: sentences 2k and 2k + 1 say the same thing.</summary>
    public static readonly string[] All =
    [
        "A man is playing a guitar.",
        "Someone is strumming an acoustic guitar on a small stage in front of a quiet audience.",
        "The weather will be cold and rainy tomorrow.",
        "Expect chilly temperatures and showers for most of the day tomorrow.",
        "Preheat the oven before you put the bread in.",
        "Warm up the oven first, then bake the loaf.",
        "The stock market fell sharply after the central bank raised interest rates again this morning.",
        "Share prices dropped steeply when the central bank increased rates.",
    ];
}
