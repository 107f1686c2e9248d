using System.Runtime.CompilerServices;

namespace DualFramework;

/// <summary>An immutable tensor shape (dimension sizes, outermost first).</summary>
/// <remarks>A rank-0 shape (no dimensions) describes a scalar. Dimensions are never negative.</remarks>
public readonly struct Shape : IEquatable<Shape>
{
    private static readonly long[] Empty = [];
    private readonly long[]? _dims;

    /// <summary>Creates a shape; throws <see cref="ArgumentException"/> on a negative dimension.</summary>
    public Shape(params long[] dims)
    {
        foreach (var d in dims)
            if (d < 0) throw new ArgumentException($"Shape dimensions must be non-negative, got [{string.Join(", ", dims)}].", nameof(dims));
        _dims = (long[])dims.Clone();
    }

    /// <summary>Creates a shape from int dimensions.</summary>
    public Shape(params int[] dims) : this(Array.ConvertAll(dims, d => (long)d)) { }

    // Trusted constructor: the array is owned by the shape and already validated.
    private Shape(long[] dims, bool _) => _dims = dims;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Shape Own(long[] dims) => new(dims, true);

    /// <summary>The scalar (rank-0) shape.</summary>
    public static Shape Scalar => new(Empty, true);

    /// <summary>Number of dimensions.</summary>
    public int Rank => Dims.Length;

    /// <summary>The dimensions.</summary>
    public ReadOnlySpan<long> Dims => _dims ?? Empty;

    /// <summary>Size of dimension <paramref name="axis"/>; negative axes count from the end.</summary>
    public long this[int axis] => Dims[axis < 0 ? axis + Rank : axis];

    /// <summary>Total number of elements (1 for a scalar).</summary>
    public long NumElements
    {
        get
        {
            long n = 1;
            foreach (var d in Dims) n = checked(n * d); // a wrapped count would defeat every size check
            return n;
        }
    }

    /// <summary>A copy of the dimensions.</summary>
    public long[] ToArray() => Dims.ToArray();

    /// <summary>The shared array behind this shape. Callers must not mutate it.</summary>
    internal long[] Raw => _dims ?? Empty;

    /// <summary>Normalises an axis in [-rank, rank) to [0, rank); returns -1 when out of range.</summary>
    public int TryNormalizeAxis(int axis) => axis >= -Rank && axis < Rank ? (axis < 0 ? axis + Rank : axis) : -1;

    /// <summary>NumPy broadcasting of two shapes; returns false when they are incompatible.</summary>
    public static bool TryBroadcast(Shape a, Shape b, out Shape result)
    {
        var da = a.Dims; var db = b.Dims;
        if (da.SequenceEqual(db)) { result = a; return true; }
        int rank = Math.Max(da.Length, db.Length);
        var r = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long x = i < rank - da.Length ? 1 : da[i - (rank - da.Length)];
            long y = i < rank - db.Length ? 1 : db[i - (rank - db.Length)];
            if (x == y || y == 1) r[i] = x;
            else if (x == 1) r[i] = y;
            else { result = default; return false; }
        }
        result = Own(r);
        return true;
    }

    /// <summary>True when this shape can be broadcast to <paramref name="target"/> (NumPy rules, one direction).</summary>
    public bool CanBroadcastTo(Shape target)
    {
        var s = Dims; var t = target.Dims;
        if (s.Length > t.Length) return false;
        int off = t.Length - s.Length;
        for (int i = 0; i < s.Length; i++)
            if (s[i] != 1 && s[i] != t[i + off]) return false;
        return true;
    }

    /// <inheritdoc />
    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in Dims) h.Add(d);
        return h.ToHashCode();
    }

    /// <summary>Shape equality.</summary>
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);

    /// <summary>Shape inequality.</summary>
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    /// <summary>Implicit conversion from a dimension array.</summary>
    public static implicit operator Shape(long[] dims) => new(dims);

    /// <summary>Implicit conversion from an int dimension array.</summary>
    public static implicit operator Shape(int[] dims) => new(dims);

    /// <summary>Formats as <c>[2, 3]</c>.</summary>
    public override string ToString() => "[" + string.Join(", ", Dims.ToArray()) + "]";
}

/// <summary>The static description of a tensor: shape and dtype.</summary>
/// <param name="Shape">Dimensions.</param>
/// <param name="DType">Element type.</param>
public readonly record struct TensorSpec(Shape Shape, DType DType)
{
    /// <summary>Formats as <c>float32[2, 3]</c>.</summary>
    public override string ToString() => $"{DType.Name()}{Shape}";
}
