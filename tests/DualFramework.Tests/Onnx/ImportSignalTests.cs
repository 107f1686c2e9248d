using DualFramework.Backends;
using DualFramework.Onnx.Conformance;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

/// <summary>The ONNX backend node tests of the sampling and signal ops (GridSample, the window functions, MelWeightMatrix,
/// DFT, STFT, RoiAlign), imported and run on the torch and graph backends against the suite's expected outputs.</summary>
[TestFixture]
public class ImportSignalTests
{
    private static readonly string[] NodeTests =
    [
        "test_gridsample", "test_gridsample_aligncorners_true", "test_gridsample_bicubic", "test_gridsample_bilinear",
        "test_gridsample_border_padding", "test_gridsample_nearest", "test_gridsample_reflection_padding", "test_gridsample_zeros_padding",
        "test_hannwindow", "test_hannwindow_symmetric", "test_hammingwindow", "test_hammingwindow_symmetric",
        "test_blackmanwindow", "test_blackmanwindow_symmetric", "test_melweightmatrix",
        "test_dft", "test_dft_axis", "test_dft_inverse", "test_stft", "test_stft_with_window",
        "test_roialign_aligned_false", "test_roialign_aligned_true",
    ];

    [TestCase("torch")]
    [TestCase("graph")]
    public void Onnx_node_tests_pass(string backendName) => OnnxNodeCases.AssertNodeTestsPass(backendName, NodeTests);
}
