using DualFramework.Backends;
using DualFramework.Checkpoints;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Quantization;
using DualFramework.Tests.Support;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Quantization;

/// <summary>Magnitude pruning: which entries, masks as buffers, masks kept through optimizer updates on both backends.</summary>
[TestFixture]
public class PruningTests
{
    // |w| in row-major order: 0.5 0.1 0.3 0.2 | 0.1 0.9 0.05 0.4 (the two 0.1 are a tie: -0.1f and 0.1f).
    private static readonly float[] Small = [0.5f, -0.1f, 0.3f, -0.2f, 0.1f, 0.9f, -0.05f, 0.4f];

    private static Linear SmallLayer()
    {
        var layer = new Linear(4, 2, bias: false);
        layer.Weight.Assign(Tensor.FromArray(Small, new Shape(2, 4)));
        return layer;
    }

    private static bool IsPositiveZero(float v) => BitConverter.SingleToInt32Bits(v) == 0;

    [Test]
    public void L1_prunes_the_smallest_magnitudes_and_breaks_ties_by_position()
    {
        using var layer = SmallLayer();
        // Two entries: 0.05 (index 6), then of the tied 0.1s the lower index (1).
        Pruning.L1Unstructured(layer, 2L);
        Pruning.Mask(layer).ToFloatArray().Should().Equal(1, 0, 1, 1, 1, 1, 0, 1);
        layer.Weight.Value.ToFloatArray().Should().Equal(0.5f, 0f, 0.3f, -0.2f, 0.1f, 0.9f, 0f, 0.4f);
        layer.Weight.Value.ToFloatArray().Where((_, i) => i is 1 or 6).Should().AllSatisfy(v => IsPositiveZero(v).Should().BeTrue("pruned entries are +0"));
        // Half: 0.05, 0.1, 0.1, 0.2; the mask only grows (indices 1 and 6 stay pruned).
        Pruning.L1Unstructured(layer, 0.5);
        Pruning.Mask(layer).ToFloatArray().Should().Equal(1, 0, 1, 0, 0, 1, 0, 1);
        layer.NamedVariables().Should().ContainKey("weight_mask");
        layer.NamedVariables()["weight_mask"].Trainable.Should().BeFalse();
    }

    [TestCase(0.3125, 2)] // 2.5 entries: Python's round gives 2 (half to even)
    [TestCase(0.4375, 4)] // 3.5 → 4
    [TestCase(0.0, 0)]
    [TestCase(1.0, 8)]
    public void L1_counts_round_like_pytorch(double amount, int expected)
    {
        using var layer = SmallLayer();
        Pruning.L1Unstructured(layer, amount);
        Pruning.Mask(layer).ToFloatArray().Count(m => m == 0).Should().Be(expected);
        layer.Weight.Value.ToFloatArray().Count(v => v == 0).Should().Be(expected);
    }

    [Test]
    public void Global_pruning_uses_one_threshold_across_layers()
    {
        using var model = new Sequential(new Linear(2, 2, bias: false), new Linear(2, 2, bias: false));
        var (a, b) = ((Linear)model.NamedChildren().First().Module, (Linear)model.NamedChildren().Last().Module);
        a.Weight.Assign(Tensor.FromArray(new[] { 0.1f, -0.2f, 0.3f, 0.4f }, new Shape(2, 2)));
        b.Weight.Assign(Tensor.FromArray(new[] { 1f, -2f, 3f, 0.05f }, new Shape(2, 2)));
        Pruning.GlobalUnstructured([(a, "weight"), (b, "weight")], 0.5);
        // 4 of 8: 0.05 (in b), 0.1, 0.2, 0.3 (in a): a loses three, b one; per-layer pruning would take two of each.
        Pruning.Mask(a).ToFloatArray().Should().Equal(0, 0, 0, 1);
        Pruning.Mask(b).ToFloatArray().Should().Equal(1, 1, 1, 0);
    }

    [Test]
    public void Global_pruning_of_random_layers_matches_a_sorted_reference()
    {
        var rng = new SeededRandom(11);
        using var model = new Sequential(new Linear(30, 20, rng: rng), new ReLU(), new Linear(20, 10, rng: rng));
        var targets = Pruning.Weights(model);
        targets.Select(t => t.Layer.FullName).Should().Equal("0", "2");
        var before = targets.Select(t => ((Linear)t.Layer).Weight.Value.ToFloatArray()).ToArray();
        Pruning.GlobalUnstructured(targets, 0.37);
        // Reference: round(0.37·800) = 296 smallest magnitudes over both tensors (no ties among random floats).
        var all = before.SelectMany(w => w.Select(Math.Abs)).OrderBy(v => v).ToArray();
        float threshold = all[295];
        all[296].Should().BeGreaterThan(threshold, "no tie at the threshold in this draw");
        for (int t = 0; t < 2; t++)
        {
            var mask = Pruning.Mask(targets[t].Layer).ToFloatArray();
            for (int i = 0; i < mask.Length; i++) mask[i].Should().Be(Math.Abs(before[t][i]) <= threshold ? 0 : 1);
        }
        Pruning.Report(model).Zeros.Should().BeGreaterThanOrEqualTo(296);
    }

    [TestCase(-0.1)]
    [TestCase(1.1)]
    [TestCase(double.NaN)]
    public void Bad_amounts_are_rejected(double amount)
    {
        using var layer = SmallLayer();
        FluentActions.Invoking(() => Pruning.L1Unstructured(layer, amount)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*[0, 1]*");
        FluentActions.Invoking(() => Pruning.GlobalUnstructured([(layer, "weight")], amount)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new PolynomialDecay([(layer, "weight")], 0, amount, 0, 10)).Should().Throw<ArgumentOutOfRangeException>();
        layer.NamedVariables().Should().NotContainKey("weight_mask", "nothing is pruned on error");
    }

    [Test]
    public void Bad_counts_and_unknown_parameters_name_the_layer()
    {
        using var model = new Sequential(new Linear(4, 2), new ReLU());
        var layer = model.NamedChildren().First().Module;
        FluentActions.Invoking(() => Pruning.L1Unstructured(layer, 9L)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Linear '0'.weight has 8 entries*");
        FluentActions.Invoking(() => Pruning.L1Unstructured(layer, 0.5, "wieght")).Should().Throw<QuantizationException>()
            .WithMessage("Linear '0' has no parameter 'wieght'*weight, bias*");
        FluentActions.Invoking(() => Pruning.L1Unstructured(model, 0.5, "0.weight")).Should().Throw<QuantizationException>()
            .WithMessage("*Sequential (root)*pass the layer that owns it*");
        FluentActions.Invoking(() => Pruning.Remove(layer)).Should().Throw<QuantizationException>().WithMessage("*Linear '0'.weight is not pruned*");
    }

    [Test]
    public void Remove_keeps_the_zeros_and_drops_mask_and_constraint()
    {
        using var model = new Sequential(new Linear(4, 2, bias: false));
        var layer = (Linear)model.NamedChildren().First().Module;
        layer.Weight.Assign(Tensor.FromArray(Small, new Shape(2, 4)));
        Pruning.L1Unstructured(layer, 0.5);
        layer.Weight.Constraint.Should().NotBeNull();
        Pruning.Remove(layer);
        model.StateDict().Keys.Should().Equal("0.weight");
        layer.Weight.Constraint.Should().BeNull();
        Pruning.IsPruned(layer).Should().BeFalse();
        layer.Weight.Value.ToFloatArray().Should().Equal(0.5f, 0f, 0.3f, 0f, 0f, 0.9f, 0f, 0.4f);
        // Permanent: the zeros are now ordinary weights that an update moves.
        using var opt = new Sgd(model.Parameters(), 0.1);
        using (TensorScope.Begin())
        {
            model.Call(Tensor.FromArray(new[] { 1f, 1f, 1f, 1f }, new Shape(1, 4))).Sum().Backward();
            opt.Step();
        }
        layer.Weight.Value.ToFloatArray().Count(v => v == 0).Should().Be(0);
    }

    [Test]
    public void Constraints_set_before_pruning_still_apply_and_come_back_after_remove()
    {
        using var layer = SmallLayer();
        Func<Tensor, Tensor> clip = w => Ops.Clamp(w, -0.25, 0.25);
        layer.Weight.Constraint = clip;
        Pruning.L1Unstructured(layer, 2L);
        using var opt = new Sgd(layer.Parameters(), 0.0);
        using (TensorScope.Begin())
        {
            layer.Call(Tensor.FromArray(new[] { 1f, 1f, 1f, 1f }, new Shape(1, 4))).Sum().Backward();
            opt.Step(); // lr 0: only the constraints change the weights
        }
        layer.Weight.Value.ToFloatArray().Should().Equal(0.25f, 0f, 0.25f, -0.2f, 0.1f, 0.25f, 0f, 0.25f);
        Pruning.Remove(layer);
        layer.Weight.Constraint.Should().BeSameAs(clip);
    }

    [Test]
    public void Report_counts_zeros_per_parameter_and_in_total()
    {
        using var model = new Sequential(new Linear(4, 2, bias: false), new Linear(2, 3));
        var first = (Linear)model.NamedChildren().First().Module;
        first.Weight.Assign(Tensor.FromArray(Small, new Shape(2, 4)));
        Pruning.L1Unstructured(first, 0.5);
        var report = Pruning.Report(model);
        report.Rows.Select(r => r.Name).Should().Equal("0.weight", "1.weight", "1.bias");
        report["0.weight"].Should().Be(new SparsityRow("0.weight", 8, 4, true));
        report["0.weight"].Sparsity.Should().Be(0.5);
        report["1.weight"].Pruned.Should().BeFalse();
        report.Elements.Should().Be(8 + 6 + 3);
        long otherZeros = report["1.weight"].Zeros + report["1.bias"].Zeros;
        report.Zeros.Should().Be(4 + otherZeros);
        var text = report.ToString();
        TestContext.Out.WriteLine(text);
        text.Should().Contain("0.weight").And.Contain("50.00%").And.Contain("total").And.NotContain("weight_mask");
    }

    [Test]
    public void Masks_round_trip_through_state_dicts_and_checkpoints()
    {
        var rng = new SeededRandom(2);
        using var a = new Sequential(new Linear(6, 5, rng: rng));
        Pruning.L1Unstructured(a.NamedChildren().First().Module, 0.6);
        a.StateDict().Keys.Should().BeEquivalentTo("0.weight", "0.bias", "0.weight_mask");
        var path = Path.Combine(Path.GetTempPath(), $"pruning-{Guid.NewGuid():N}.ckpt");
        try
        {
            Checkpoint.Save(path, a);
            // A dense model does not take a pruned checkpoint: its masks are extra state.
            using (var dense = new Sequential(new Linear(6, 5)))
                FluentActions.Invoking(() => Checkpoint.LoadInto(path, dense).Dispose()).Should().Throw<StateDictException>().WithMessage("*0.weight_mask*");
            using var b = new Sequential(new Linear(6, 5, rng: new SeededRandom(9)));
            var layer = b.NamedChildren().First().Module;
            Pruning.L1Unstructured(layer, 0.0); // creates the mask buffer to load into
            Checkpoint.LoadInto(path, b).Dispose();
            Pruning.Mask(layer).ToFloatArray().Should().Equal(a.StateDict()["0.weight_mask"].ToFloatArray());
            b.StateDict()["0.weight"].ToFloatArray().Should().Equal(a.StateDict()["0.weight"].ToFloatArray());
            Pruning.Mask(layer).ToFloatArray().Count(m => m == 0).Should().Be(18);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Compressed_size_is_the_gzip_stream_length()
    {
        var path = Path.Combine(Path.GetTempPath(), $"pruning-{Guid.NewGuid():N}.bin");
        try
        {
            var bytes = new byte[1 << 20];
            new Random(4).NextBytes(bytes.AsSpan(0, 1 << 18)); // a quarter random, the rest zeros
            File.WriteAllBytes(path, bytes);
            using var ms = new MemoryStream();
            using (var gz = new System.IO.Compression.GZipStream(ms, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true)) gz.Write(bytes);
            long size = Pruning.CompressedSize(path);
            size.Should().Be(ms.Length);
            size.Should().BeInRange(1 << 18, (1 << 18) + (1 << 14), "random bytes do not compress, zeros nearly vanish");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
