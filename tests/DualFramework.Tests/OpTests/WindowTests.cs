using DualFramework.Backends;
using FluentAssertions;
using NUnit.Framework;
using TorchSharp;

namespace DualFramework.Tests.OpTests;

/// <summary>Window functions against libtorch's own in float64, and MelWeightMatrix against a hand-derived example.</summary>
[TestFixture]
public class WindowTests
{
    [TestCase(7L, true)]
    [TestCase(7L, false)]
    [TestCase(10L, true)]
    [TestCase(1L, false)]
    public void Windows_match_libtorch(long n, bool periodic)
    {
        using var s = TensorScope.Begin();
        using var hann = torch.hann_window(n, periodic, torch.ScalarType.Float64);
        using var hamming = torch.hamming_window(n, periodic, 0.5f, 0.25f, torch.ScalarType.Float64);
        using var blackman = torch.blackman_window(n, periodic, torch.ScalarType.Float64);
        Ops.HannWindow(n, periodic, DType.Float64).ToDoubleArray().Should().BeEquivalentTo(hann.data<double>().ToArray(), o => o.Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-12)).WhenTypeIs<double>());
        Ops.HammingWindow(n, periodic, 0.5, 0.25, DType.Float64).ToDoubleArray().Should().BeEquivalentTo(hamming.data<double>().ToArray(), o => o.Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-12)).WhenTypeIs<double>());
        Ops.BlackmanWindow(n, periodic, DType.Float64).ToDoubleArray().Should().BeEquivalentTo(blackman.data<double>().ToArray(), o => o.Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-12)).WhenTypeIs<double>());
    }

    [TestCase("torch")]
    [TestCase("graph")]
    public void Windows_live_on_the_requested_backend_in_the_requested_dtype(string backendName)
    {
        using var s = TensorScope.Begin();
        var backend = BackendRegistry.Get(backendName);
        var w = Ops.HannWindow(4, true, DType.Float32, backend);
        w.Backend.Should().BeSameAs(backend);
        w.DType.Should().Be(DType.Float32);
        // Periodic Hann of length 4: 0.5 − 0.5 cos(πn/2) = 0, 0.5, 1, 0.5.
        w.ToFloatArray().Should().Equal(0f, 0.5f, 1f, 0.5f);
        Ops.HannWindow(0).Shape.Should().Be(new Shape(0));
        FluentActions.Invoking(() => Ops.HannWindow(-1)).Should().Throw<OpException>().WithMessage("*hann_window*-1*");
    }

    [Test]
    public void Mel_weight_matrix_matches_a_hand_derived_example()
    {
        // 2 bands over 0–4000 Hz, DFT 32 at 8 kHz: mel edges 0, 536.5, 1073.0, 1609.5, 2146.1 are 0, 426.8, 1113.8, 2219.9,
        // 4000 Hz, i.e. DFT bins ⌊33 f / 8000⌋ = 0, 1, 4, 9, 16: band 0 rises over bins 0–1 and falls over 1–4, band 1
        // rises over 1–4 and falls over 4–9.
        using var s = TensorScope.Begin();
        var m = Ops.MelWeightMatrix(2, 32, 8000, 0, 4000, DType.Float64);
        m.Shape.Should().Be(new Shape(17, 2));
        var expected = new double[17 * 2];
        double[] band0 = [0, 1, 2 / 3.0, 1 / 3.0];
        double[] band1 = [0, 0, 1 / 3.0, 2 / 3.0, 1, 0.8, 0.6, 0.4, 0.2];
        for (int j = 0; j < band0.Length; j++) expected[j * 2] = band0[j];
        for (int j = 0; j < band1.Length; j++) expected[j * 2 + 1] = band1[j];
        m.ToDoubleArray().Should().BeEquivalentTo(expected, o => o.Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-12)).WhenTypeIs<double>());
    }
}
