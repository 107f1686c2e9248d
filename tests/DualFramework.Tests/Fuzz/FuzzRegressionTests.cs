using DualFramework.Fuzz;
using DualFramework.Fuzz.Targets;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Fuzz;

/// <summary>
/// Every input that once crashed a loader (the fuzzer's own input when small, else a hand-built equivalent), kept under
/// Fuzz/corpus/&lt;loader&gt;/ with the fix it led to named in docs/reliability.md: each must now end in the loader's
/// documented exception.
/// </summary>
[TestFixture]
[NonParallelizable]
public class FuzzRegressionTests
{
    private static string Corpus => Path.Combine(AppContext.BaseDirectory, "Fuzz", "corpus");

    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (var file in Directory.EnumerateFiles(Corpus, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var loader = Path.GetFileName(Path.GetDirectoryName(file)!);
            yield return new TestCaseData(loader, Path.GetFileName(file)).SetName($"{loader}/{Path.GetFileName(file)}");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void CrashInput_IsRejectedWithTheDocumentedException(string loader, string file)
    {
        var input = File.ReadAllBytes(Path.Combine(Corpus, loader, file));
        using FuzzTarget target = loader switch
        {
            "onnx" => new OnnxTarget(EmptyFolder()),
            "safetensors" => new SafeTensorsTarget(),
            _ => throw new AssertionException($"no target for corpus folder '{loader}'"),
        };
        var (outcome, detail, _, _) = new FuzzRunner().RunOne(target, input);
        outcome.Should().Be(Outcome.Rejected, detail);
    }

    [Test]
    public void Corpus_HoldsTheRegressionInputs() => Cases().Should().NotBeEmpty();

    // The ONNX regression inputs need the scratch folder (external data), not the node-test seeds.
    private static string EmptyFolder()
    {
        var dir = Path.Combine(Path.GetTempPath(), "df-fuzz-noseeds");
        Directory.CreateDirectory(dir);
        return dir;
    }
}
