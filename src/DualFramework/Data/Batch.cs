using DualFramework.Backends;

namespace DualFramework.Data;

/// <summary>One labelled example: a float32 feature block of a given shape and an int64 label.</summary>
/// <remarks>
/// <see cref="Features"/> may be a view into a larger array shared with other examples: treat it as read-only.
/// </remarks>
public readonly struct Example
{
    /// <summary>Creates an example.</summary>
    /// <param name="features">The features, row-major; length must equal the shape's element count.</param>
    /// <param name="shape">The feature shape (without a batch dimension).</param>
    /// <param name="label">The label (class index for classification).</param>
    /// <exception cref="ArgumentException">The feature length does not match the shape.</exception>
    public Example(ReadOnlyMemory<float> features, Shape shape, long label)
    {
        if (features.Length != shape.NumElements)
            throw new ArgumentException($"An example of shape {shape} needs {shape.NumElements} features, got {features.Length}.", nameof(features));
        Features = features;
        Shape = shape;
        Label = label;
    }

    /// <summary>The features, row-major.</summary>
    public ReadOnlyMemory<float> Features { get; }

    /// <summary>The feature shape (without a batch dimension).</summary>
    public Shape Shape { get; }

    /// <summary>The label.</summary>
    public long Label { get; }

    /// <summary>A copy with other features of the same or another shape (handy in <c>Map</c> augmentations).</summary>
    /// <param name="features">The new features.</param>
    /// <param name="shape">Their shape; null keeps <see cref="Shape"/>.</param>
    public Example WithFeatures(ReadOnlyMemory<float> features, Shape? shape = null) => new(features, shape ?? Shape, Label);
}

/// <summary>
/// A batch of examples as host arrays ready to become tensors: features <c>[B, …]</c> float32 and labels <c>[B]</c> int64.
/// </summary>
public sealed class Batch
{
    /// <summary>Creates a batch, checking that the arrays agree with the shape.</summary>
    /// <param name="features">Row-major features of all examples.</param>
    /// <param name="featureShape">Their shape, batch dimension first.</param>
    /// <param name="labels">One label per example.</param>
    /// <exception cref="ArgumentException">The arrays do not match <paramref name="featureShape"/>.</exception>
    public Batch(float[] features, Shape featureShape, long[] labels)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (featureShape.Rank < 1 || featureShape[0] != labels.Length)
            throw new ArgumentException($"Feature shape {featureShape} must start with the batch size {labels.Length}.", nameof(featureShape));
        if (features.Length != featureShape.NumElements)
            throw new ArgumentException($"Feature shape {featureShape} needs {featureShape.NumElements} values, got {features.Length}.", nameof(features));
        Features = features;
        FeatureShape = featureShape;
        Labels = labels;
    }

    /// <summary>All features, row-major, example after example.</summary>
    public float[] Features { get; }

    /// <summary>The feature shape, batch dimension first (e.g. <c>[64, 1, 28, 28]</c>).</summary>
    public Shape FeatureShape { get; }

    /// <summary>The labels, one per example.</summary>
    public long[] Labels { get; }

    /// <summary>Number of examples in the batch.</summary>
    public int Size => Labels.Length;

    /// <summary>
    /// Copies the batch into a float32 feature tensor of shape <see cref="FeatureShape"/> and an int64 label tensor of
    /// shape <c>[Size]</c> on <paramref name="backend"/> (the default backend when null). Both belong to the current
    /// <see cref="TensorScope"/>.
    /// </summary>
    /// <param name="backend">The backend; null uses the default.</param>
    public (Tensor Features, Tensor Labels) ToTensors(IComputeBackend? backend = null)
    {
        var x = Tensor.FromArray(Features, FeatureShape, backend);
        try
        {
            return (x, Tensor.FromArray(Labels, new Shape((long)Labels.Length), backend));
        }
        catch
        {
            x.Dispose();
            throw;
        }
    }
}

/// <summary>Batching of <see cref="Example"/> datasets.</summary>
public static class DatasetBatchExtensions
{
    /// <summary>
    /// Stacks consecutive examples into <see cref="Batch"/>es of <paramref name="size"/> (the last one may be smaller
    /// unless <paramref name="dropLast"/>).
    /// </summary>
    /// <remarks>
    /// The examples of one batch must share a shape; otherwise <c>MoveNext</c> throws a
    /// <see cref="DataPipelineException"/> naming the offending item.
    /// </remarks>
    /// <param name="dataset">The examples.</param>
    /// <param name="size">Examples per batch (at least 1).</param>
    /// <param name="dropLast">Drop a final batch smaller than <paramref name="size"/> (keeps shapes static).</param>
    public static Dataset<Batch> Batch(this Dataset<Example> dataset, int size, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "Batch size must be at least 1.");
        return new BatchDataset(dataset, size, dropLast);
    }
}
