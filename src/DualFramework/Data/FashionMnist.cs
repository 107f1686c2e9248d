using DualFramework.Backends;

namespace DualFramework.Data;

/// <summary>
/// One split of an image-classification dataset held compactly as bytes: <see cref="Count"/> grayscale images of
/// <see cref="ImageShape"/> and their int64 labels.
/// </summary>
/// <remarks>
/// Pixels stay bytes (47 MB for Fashion-MNIST's training split instead of 188 MB as float32); they are scaled to
/// float32 in [0, 1] (value / 255) by <see cref="ToDataset"/>, <see cref="ToFloatArray"/> and <see cref="ToTensors"/>.
/// </remarks>
public sealed class LabeledImages
{
    /// <summary>Creates a split, checking that the arrays agree.</summary>
    /// <param name="pixels">Row-major pixels, image after image.</param>
    /// <param name="imageShape">The shape of one image (e.g. <c>[1, 28, 28]</c>).</param>
    /// <param name="labels">One label per image.</param>
    /// <exception cref="ArgumentException">The lengths disagree.</exception>
    public LabeledImages(byte[] pixels, Shape imageShape, long[] labels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (pixels.LongLength != imageShape.NumElements * labels.LongLength)
            throw new ArgumentException($"{labels.Length} images of shape {imageShape} need {imageShape.NumElements * labels.LongLength} pixels, got {pixels.Length}.", nameof(pixels));
        Pixels = pixels;
        ImageShape = imageShape;
        Labels = labels;
    }

    /// <summary>The raw pixels (0–255), row-major, image after image.</summary>
    public byte[] Pixels { get; }

    /// <summary>The labels (class indices).</summary>
    public long[] Labels { get; }

    /// <summary>The shape of one image, channels first (<c>[1, 28, 28]</c> for Fashion-MNIST).</summary>
    public Shape ImageShape { get; }

    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>The shape of all images stacked: <c>[Count, …ImageShape]</c>.</summary>
    public Shape Shape
    {
        get
        {
            var dims = new long[ImageShape.Rank + 1];
            dims[0] = Count;
            ImageShape.Dims.CopyTo(dims.AsSpan(1));
            return new Shape(dims);
        }
    }

    /// <summary>The images as a dataset of float32 examples in [0, 1] (converted lazily, one image at a time).</summary>
    public Dataset<Example> ToDataset() => Dataset.FromArrays(Pixels, ImageShape.ToArray(), Labels, 255f);

    /// <summary>All images as one float32 array in [0, 1], laid out as <see cref="Shape"/>.</summary>
    public float[] ToFloatArray()
    {
        var table = Dataset.ByteTable(255f);
        var result = new float[Pixels.Length];
        for (int i = 0; i < result.Length; i++) result[i] = table[Pixels[i]];
        return result;
    }

    /// <summary>All images as a float32 tensor of <see cref="Shape"/> in [0, 1] and the labels as an int64 tensor.</summary>
    /// <param name="backend">The backend; null uses the default.</param>
    public (Tensor Images, Tensor Labels) ToTensors(IComputeBackend? backend = null) =>
        new Batch(ToFloatArray(), Shape, Labels).ToTensors(backend);
}

/// <summary>The training and test splits of Fashion-MNIST.</summary>
/// <param name="Train">The 60 000 training images.</param>
/// <param name="Test">The 10 000 test images.</param>
public sealed record FashionMnistData(LabeledImages Train, LabeledImages Test);

/// <summary>
/// Loads Fashion-MNIST (Zalando's 28×28 grayscale clothing images, 10 classes) from its four IDX files.
/// </summary>
/// <remarks>
/// The files are looked up, gzipped (<c>.gz</c>) or not, in a given directory or in <see cref="DefaultDirectory"/>, where
/// the Debian/Ubuntu package <c>dataset-fashion-mnist</c> installs them.
/// </remarks>
public static class FashionMnist
{
    /// <summary>Where the Debian package <c>dataset-fashion-mnist</c> installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Image height and width.</summary>
    public const int ImageSize = 28;

    /// <summary>Number of classes.</summary>
    public const int ClassCount = 10;

    /// <summary>The class names, indexed by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The base names of the four files (each may also carry a <c>.gz</c> suffix).</summary>
    public static IReadOnlyList<string> FileNames { get; } =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    /// <summary>True when all four files are present in <paramref name="directory"/> (default: <see cref="DefaultDirectory"/>).</summary>
    /// <param name="directory">The directory; null for the default.</param>
    public static bool IsAvailable(string? directory = null)
    {
        var dir = directory ?? DefaultDirectory;
        return FileNames.All(n => Find(dir, n) != null);
    }

    /// <summary>Loads both splits.</summary>
    /// <param name="directory">A directory holding the four files; null for <see cref="DefaultDirectory"/>.</param>
    /// <returns>The splits, images shaped <c>[N, 1, 28, 28]</c> with labels in 0…9.</returns>
    /// <exception cref="FileNotFoundException">A file is missing; the message lists the missing files, the directory
    /// searched and how to install them.</exception>
    /// <exception cref="InvalidDataException">A file is corrupt or inconsistent with its partner.</exception>
    public static FashionMnistData Load(string? directory = null)
    {
        var dir = Path.GetFullPath(directory ?? DefaultDirectory);
        var paths = FileNames.Select(n => Find(dir, n)).ToArray();
        var missing = FileNames.Where((_, i) => paths[i] == null).ToArray();
        if (missing.Length > 0)
        {
            string where = Directory.Exists(dir) ? $"in '{dir}'" : $"in '{dir}' (the directory does not exist)";
            throw new FileNotFoundException(
                $"Fashion-MNIST files not found {where}: missing {string.Join(", ", missing.Select(m => m + "[.gz]"))}. " +
                "Install them with `sudo apt-get install dataset-fashion-mnist` (puts them in " + DefaultDirectory + "), " +
                "or pass --data DIR naming a directory that holds the four files (gzipped or not).",
                Path.Combine(dir, missing[0] + ".gz"));
        }
        return new FashionMnistData(LoadSplit(paths[0]!, paths[1]!), LoadSplit(paths[2]!, paths[3]!));
    }

    private static string? Find(string dir, string baseName)
    {
        var gz = Path.Combine(dir, baseName + ".gz");
        if (File.Exists(gz)) return gz;
        var raw = Path.Combine(dir, baseName);
        return File.Exists(raw) ? raw : null;
    }

    private static LabeledImages LoadSplit(string imagesPath, string labelsPath)
    {
        // Pixel bytes: 28·28·N plus header, so this cap still rejects a lying header early.
        var images = IdxReader.Read(imagesPath, maxDataBytes: 1L << 30);
        var labels = IdxReader.Read(labelsPath, maxDataBytes: 1L << 24);
        if (images.DataType != IdxDataType.UInt8 || images.Shape.Rank != 3 || images.Shape[1] != ImageSize || images.Shape[2] != ImageSize)
            throw new InvalidDataException($"Fashion-MNIST image file '{imagesPath}' holds {images.DataType} {images.Shape}, expected UInt8 [N, {ImageSize}, {ImageSize}].");
        if (labels.DataType != IdxDataType.UInt8 || labels.Shape.Rank != 1)
            throw new InvalidDataException($"Fashion-MNIST label file '{labelsPath}' holds {labels.DataType} {labels.Shape}, expected UInt8 [N].");
        if (images.Shape[0] != labels.Shape[0])
            throw new InvalidDataException($"Fashion-MNIST: '{imagesPath}' has {images.Shape[0]} images but '{labelsPath}' has {labels.Shape[0]} labels.");
        var raw = labels.GetData<byte>();
        var result = new long[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] >= ClassCount)
                throw new InvalidDataException($"Fashion-MNIST label file '{labelsPath}': label {raw[i]} at index {i} is outside 0..{ClassCount - 1}.");
            result[i] = raw[i];
        }
        return new LabeledImages(images.GetData<byte>(), new Shape(1L, ImageSize, ImageSize), result);
    }
}
