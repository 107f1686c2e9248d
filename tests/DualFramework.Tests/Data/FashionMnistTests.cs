using DualFramework.Data;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Data;

[TestFixture]
public class FashionMnistTests
{
    private static readonly Lazy<FashionMnistData> Real = new(() => FashionMnist.Load());

    private static FashionMnistData LoadRealOrIgnore()
    {
        if (!FashionMnist.IsAvailable())
            Assert.Ignore($"Fashion-MNIST is not installed in {FashionMnist.DefaultDirectory} (sudo apt-get install dataset-fashion-mnist).");
        return Real.Value;
    }

    private string _dir = null!;

    [SetUp]
    public void CreateDir() => _dir = Directory.CreateTempSubdirectory("df-fmnist-").FullName;

    [TearDown]
    public void DeleteDir() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Real_files_have_the_published_shapes_and_balanced_classes()
    {
        var data = LoadRealOrIgnore();
        data.Train.Count.Should().Be(60000);
        data.Test.Count.Should().Be(10000);
        data.Train.Shape.Should().Be(new Shape(60000, 1, 28, 28));
        data.Test.Shape.Should().Be(new Shape(10000, 1, 28, 28));
        data.Train.Pixels.Length.Should().Be(60000 * 784);

        var trainHist = new int[10];
        foreach (var l in data.Train.Labels) trainHist[l]++;
        trainHist.Should().OnlyContain(c => c == 6000);
        var testHist = new int[10];
        foreach (var l in data.Test.Labels) testHist[l]++;
        testHist.Should().OnlyContain(c => c == 1000);

        data.Train.Pixels.Min().Should().Be(0);
        data.Train.Pixels.Max().Should().Be(255);
        // Not blank: the average pixel of Fashion-MNIST is about 0.29 of full scale.
        data.Test.Pixels.Average(p => (double)p).Should().BeInRange(60, 90);
    }

    [Test]
    public void Real_data_flows_through_a_pipeline_as_scaled_floats()
    {
        var data = LoadRealOrIgnore();
        var batch = data.Train.ToDataset().Shuffle(seed: 1).Batch(64, dropLast: true).Prefetch(2).First();
        batch.FeatureShape.Should().Be(new Shape(64, 1, 28, 28));
        batch.Features.Should().OnlyContain(v => v >= 0f && v <= 1f);
        batch.Features.Max().Should().BeGreaterThan(0.5f);

        var first = data.Test.ToDataset().First();
        first.Shape.Should().Be(new Shape(1, 28, 28));
        first.Label.Should().Be(data.Test.Labels[0]);
        first.Features.ToArray().Should().Equal(data.Test.Pixels.Take(784).Select(p => p / 255f));
        data.Train.ToDataset().Cardinality.Should().Be(60000);
    }

    [Test]
    public void Missing_files_are_listed_with_install_hint()
    {
        var act = () => FashionMnist.Load(_dir);
        var ex = act.Should().Throw<FileNotFoundException>().Which;
        foreach (var name in FashionMnist.FileNames) ex.Message.Should().Contain(name);
        ex.Message.Should().Contain(_dir).And.Contain("sudo apt-get install dataset-fashion-mnist").And.Contain("--data DIR");
        FashionMnist.IsAvailable(_dir).Should().BeFalse();

        var nowhere = () => FashionMnist.Load(Path.Combine(_dir, "nope"));
        nowhere.Should().Throw<FileNotFoundException>().WithMessage("*nope*does not exist*");
    }

    // A tiny Fashion-MNIST lookalike, un-gzipped (train) and gzipped (test), to test the validation rules.
    private void WriteSynthetic(int trainImages = 3, int trainLabels = 3, int size = 28, byte badLabel = 0, bool skipTestLabels = false)
    {
        var px = new byte[trainImages * size * size];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)(i * 7);
        File.WriteAllBytes(Path.Combine(_dir, "train-images-idx3-ubyte"), IdxReaderTests.Idx(0x08, [trainImages, size, size], px));
        var labels = Enumerable.Range(0, trainLabels).Select(i => (byte)(i + 4)).ToArray();
        if (badLabel != 0) labels[^1] = badLabel;
        File.WriteAllBytes(Path.Combine(_dir, "train-labels-idx1-ubyte"), IdxReaderTests.Idx(0x08, [trainLabels], labels));
        File.WriteAllBytes(Path.Combine(_dir, "t10k-images-idx3-ubyte.gz"), IdxReaderTests.Gzip(IdxReaderTests.Idx(0x08, [1, 28, 28], new byte[784])));
        if (!skipTestLabels)
            File.WriteAllBytes(Path.Combine(_dir, "t10k-labels-idx1-ubyte.gz"), IdxReaderTests.Gzip(IdxReaderTests.Idx(0x08, [1], [9])));
    }

    [Test]
    public void Synthetic_files_load_gzipped_or_not()
    {
        WriteSynthetic();
        FashionMnist.IsAvailable(_dir).Should().BeTrue();
        var d = FashionMnist.Load(_dir);
        d.Train.Count.Should().Be(3);
        d.Train.Labels.Should().Equal(4L, 5, 6);
        d.Train.Pixels[10].Should().Be(70);
        d.Train.ToFloatArray()[10].Should().Be(70 / 255f);
        d.Test.Labels.Should().Equal(9L);
        d.Test.ImageShape.Should().Be(new Shape(1, 28, 28));
    }

    [Test]
    public void Partially_missing_files_name_only_the_missing_ones()
    {
        WriteSynthetic(skipTestLabels: true);
        var act = () => FashionMnist.Load(_dir);
        var ex = act.Should().Throw<FileNotFoundException>().Which;
        ex.Message.Should().Contain("t10k-labels-idx1-ubyte").And.NotContain("train-images");
        ex.FileName.Should().EndWith("t10k-labels-idx1-ubyte.gz");
    }

    [Test]
    public void Inconsistent_files_are_rejected()
    {
        WriteSynthetic(trainLabels: 2);
        var act = () => FashionMnist.Load(_dir);
        act.Should().Throw<InvalidDataException>().WithMessage("*3 images*2 labels*");

        WriteSynthetic(badLabel: 10);
        act.Should().Throw<InvalidDataException>().WithMessage("*label 10 at index 2*outside 0..9*");

        WriteSynthetic(size: 27);
        act.Should().Throw<InvalidDataException>().WithMessage("*train-images-idx3-ubyte*[3, 27, 27]*expected UInt8 [N, 28, 28]*");
    }

    [Test]
    public void Class_names_match_the_labels()
    {
        FashionMnist.ClassNames.Should().HaveCount(FashionMnist.ClassCount);
        FashionMnist.ClassNames[0].Should().Be("T-shirt/top");
        FashionMnist.ClassNames[9].Should().Be("Ankle boot");
    }
}
