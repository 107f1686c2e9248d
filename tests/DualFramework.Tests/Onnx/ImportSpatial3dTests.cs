using DualFramework.Backends;
using DualFramework.Onnx.Conformance;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

/// <summary>The ONNX backend node tests of 3-D convolution and pooling, AveragePool ceil_mode, ConvTranspose output_shape
/// beyond the full output and MaxUnpool (with and without output_shape), imported and run on the torch and graph backends.</summary>
[TestFixture]
public class ImportSpatial3dTests
{
    private const string Suite = "/usr/share/libonnx-testdata/data/node";

    public static IEnumerable<TestCaseData> NodeTests() =>
        from name in new[]
        {
            "test_averagepool_3d_default", "test_maxpool_3d_default", "test_convtranspose_3d", "test_averagepool_2d_ceil",
            "test_convtranspose_output_shape", "test_maxunpool_export_with_output_shape", "test_maxunpool_export_without_output_shape",
        }
        from backend in new[] { "torch", "graph" }
        select new TestCaseData(name, backend);

    [TestCaseSource(nameof(NodeTests))]
    public void Onnx_node_test_passes(string name, string backendName)
    {
        if (!Directory.Exists(Suite)) Assert.Ignore("libonnx-testdata is not installed (scripts/install-system-deps.sh --tests).");
        var r = ConformanceRunner.RunCase(Path.Combine(Suite, name), BackendRegistry.Get(backendName));
        r.Should().Be(new CaseResult(name, CaseOutcome.Passed, null), because: r.Reason);
    }
}
