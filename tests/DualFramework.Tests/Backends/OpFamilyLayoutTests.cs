using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Backends;

/// <summary>
/// The op-family layout guard: the torch kernels, the ONNX lowerings and the ONNX importer mappings are grouped by the
/// op families of <c>src/DualFramework/Operators/OpSet.&lt;Family&gt;.cs</c>, under the same family names (docs/ops.md,
/// "Adding an op").
/// </summary>
[TestFixture]
public class OpFamilyLayoutTests
{
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "DualFramework.sln"))) return dir.FullName;
        throw new InvalidOperationException("The test assembly does not run from inside the repository.");
    }

    private static SortedSet<string> Families(string folder, string prefix, string suffix) =>
        new(Directory.GetFiles(Path.Combine(RepoRoot(), folder), prefix + "*" + suffix)
            .Select(Path.GetFileName)
            .Select(f => f![prefix.Length..^suffix.Length])
            .Where(f => f.Length > 0 && !f.Contains('.')), StringComparer.Ordinal);

    private static SortedSet<string> OpFamilies => Families("src/DualFramework/Operators", "OpSet.", ".cs");

    [Test]
    public void The_op_set_has_families() => OpFamilies.Should().Contain(["Elementwise", "Shape", "Conv"]);

    [Test]
    public void Every_family_has_a_torch_kernel_file_and_no_other_file_exists()
    {
        var kernels = Families("src/DualFramework.Torch/Kernels", "", "Kernels.cs");
        kernels.Should().BeEquivalentTo(OpFamilies, "src/DualFramework.Torch/Kernels/<Family>Kernels.cs, one per OpSet.<Family>.cs");
    }

    [Test]
    public void Every_family_has_an_onnx_lowering_file_and_no_other_file_exists()
    {
        var lowerings = Families("src/DualFramework.Onnx", "Lowerings.", ".cs");
        lowerings.Should().BeEquivalentTo(OpFamilies, "src/DualFramework.Onnx/Lowerings.<Family>.cs, one per OpSet.<Family>.cs");
    }

    [Test]
    public void Importer_mapping_files_are_named_after_op_families()
    {
        var mappings = Families("src/DualFramework.Onnx", "OnnxImporter.Mappings.", ".cs");
        mappings.Should().NotBeEmpty();
        mappings.Should().BeSubsetOf(OpFamilies.Concat(ImporterOnly), "ONNX ops map onto the family of the op they lower to");
    }

    // Importer files that are not one op family: structure (subgraphs, sequence and optional values, opset 1–6 rewrites), the
    // ai.onnx.preview.training domain, and ONNX ops composed from several Core functions (signal windows, DFT/STFT, RoiAlign).
    private static readonly string[] ImporterOnly = ["Control", "Sequence", "Optional", "Legacy", "Training", "Windows", "Fourier", "RoiAlign"];
}
