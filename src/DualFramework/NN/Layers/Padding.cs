using DualFramework.Operators;

namespace DualFramework.NN;

/// <summary>
/// Pads the last <see cref="SpatialRank"/> axes of a batched (or unbatched) input — the base of PyTorch's padding layers
/// (<c>nn.ConstantPad2d</c>, <c>nn.ReflectionPad2d</c>, <c>nn.ReplicationPad2d</c>, <c>nn.CircularPad2d</c>,
/// <c>nn.ZeroPad2d</c> and their 1-D and 3-D forms). Negative amounts crop.
/// </summary>
public abstract class PadNd : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="spatialRank">Number of padded trailing axes (1, 2 or 3).</param>
    /// <param name="padding">One amount for every side, or (before, after) per padded axis in PyTorch's order: the last
    /// axis first (<c>(left, right, top, bottom, front, back)</c>).</param>
    /// <param name="mode">How new elements are filled.</param>
    /// <param name="value">Fill value of <see cref="PadMode.Constant"/>.</param>
    protected PadNd(int spatialRank, long[] padding, PadMode mode, double value)
    {
        ArgumentNullException.ThrowIfNull(padding);
        if (padding.Length == 1) padding = Enumerable.Repeat(padding[0], 2 * spatialRank).ToArray();
        if (padding.Length != 2 * spatialRank)
            throw new ArgumentException($"{GetType().Name}: padding needs 1 or {2 * spatialRank} amounts, got {padding.Length}.", nameof(padding));
        SpatialRank = spatialRank;
        Padding = (long[])padding.Clone();
        Mode = mode;
        Value = value;
    }

    /// <summary>Number of padded trailing axes.</summary>
    public int SpatialRank { get; }

    /// <summary>(before, after) amounts, last axis first.</summary>
    public IReadOnlyList<long> Padding { get; }

    /// <summary>How new elements are filled.</summary>
    public PadMode Mode { get; }

    /// <summary>Fill value of <see cref="PadMode.Constant"/>.</summary>
    public double Value { get; }

    /// <summary>The padded input.</summary>
    /// <exception cref="OpException">The input is neither [C, *spatial] nor [N, C, *spatial].</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != SpatialRank + 1 && input.Rank != SpatialRank + 2)
            throw new OpException("pad", [input.Spec], $"{GetType().Name} expects a rank-{SpatialRank + 1} or rank-{SpatialRank + 2} input", LayerPath.Current);
        return Ops.Pad(input, Padding.ToArray(), Mode, Value);
    }
}

/// <summary>Pads the last axis with a constant (PyTorch's <c>nn.ConstantPad1d</c>).</summary>
public sealed class ConstantPad1d(long[] padding, double value) : PadNd(1, padding, PadMode.Constant, value);

/// <summary>Pads the last two axes with a constant (PyTorch's <c>nn.ConstantPad2d</c>).</summary>
public sealed class ConstantPad2d(long[] padding, double value) : PadNd(2, padding, PadMode.Constant, value);

/// <summary>Pads the last three axes with a constant (PyTorch's <c>nn.ConstantPad3d</c>).</summary>
public sealed class ConstantPad3d(long[] padding, double value) : PadNd(3, padding, PadMode.Constant, value);

/// <summary>Pads the last two axes with zeros (PyTorch's <c>nn.ZeroPad2d</c>).</summary>
public sealed class ZeroPad2d(params long[] padding) : PadNd(2, padding, PadMode.Constant, 0);

/// <summary>Pads the last axis with its reflection (PyTorch's <c>nn.ReflectionPad1d</c>).</summary>
public sealed class ReflectionPad1d(params long[] padding) : PadNd(1, padding, PadMode.Reflect, 0);

/// <summary>Pads the last two axes with their reflection (PyTorch's <c>nn.ReflectionPad2d</c>).</summary>
public sealed class ReflectionPad2d(params long[] padding) : PadNd(2, padding, PadMode.Reflect, 0);

/// <summary>Pads the last three axes with their reflection (PyTorch's <c>nn.ReflectionPad3d</c>).</summary>
public sealed class ReflectionPad3d(params long[] padding) : PadNd(3, padding, PadMode.Reflect, 0);

/// <summary>Pads the last axis by repeating its edge (PyTorch's <c>nn.ReplicationPad1d</c>).</summary>
public sealed class ReplicationPad1d(params long[] padding) : PadNd(1, padding, PadMode.Edge, 0);

/// <summary>Pads the last two axes by repeating their edges (PyTorch's <c>nn.ReplicationPad2d</c>).</summary>
public sealed class ReplicationPad2d(params long[] padding) : PadNd(2, padding, PadMode.Edge, 0);

/// <summary>Pads the last three axes by repeating their edges (PyTorch's <c>nn.ReplicationPad3d</c>).</summary>
public sealed class ReplicationPad3d(params long[] padding) : PadNd(3, padding, PadMode.Edge, 0);

/// <summary>Pads the last axis periodically (PyTorch's <c>nn.CircularPad1d</c>).</summary>
public sealed class CircularPad1d(params long[] padding) : PadNd(1, padding, PadMode.Wrap, 0);

/// <summary>Pads the last two axes periodically (PyTorch's <c>nn.CircularPad2d</c>).</summary>
public sealed class CircularPad2d(params long[] padding) : PadNd(2, padding, PadMode.Wrap, 0);

/// <summary>Pads the last three axes periodically (PyTorch's <c>nn.CircularPad3d</c>).</summary>
public sealed class CircularPad3d(params long[] padding) : PadNd(3, padding, PadMode.Wrap, 0);
