using DualFramework.Backends;
using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(Shape shape, double value, DType dtype = DType.Float32, IComputeBackend? backend = null) =>
        Dispatcher.Create(OpSet.Full, new FullAttrs(shape.ToArray(), value, dtype), backend);

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(Shape shape, DType dtype = DType.Float32, IComputeBackend? backend = null) => Full(shape, 0, dtype, backend);

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(Shape shape, DType dtype = DType.Float32, IComputeBackend? backend = null) => Full(shape, 1, dtype, backend);

    /// <summary>Zeros with the shape, dtype and backend of <paramref name="like"/>.</summary>
    public static Tensor ZerosLike(Tensor like) => Full(like.Shape, 0, like.DType, like.Backend);

    /// <summary>Ones with the shape, dtype and backend of <paramref name="like"/>.</summary>
    public static Tensor OnesLike(Tensor like) => Full(like.Shape, 1, like.DType, like.Backend);

    /// <summary><paramref name="value"/> with the shape, dtype and backend of <paramref name="like"/>.</summary>
    public static Tensor FullLike(Tensor like, double value) => Full(like.Shape, value, like.DType, like.Backend);

    /// <summary>The values <c>start, start + step, …</c> below <paramref name="stop"/> (above it for a negative step),
    /// as NumPy's <c>arange</c>: <c>max(0, ceil((stop − start) / step))</c> elements.</summary>
    /// <param name="start">First value.</param>
    /// <param name="stop">Exclusive bound.</param>
    /// <param name="step">Increment; must not be zero.</param>
    /// <param name="dtype">Element type (integer dtypes need whole <paramref name="start"/> and <paramref name="step"/>).</param>
    /// <param name="backend">Backend (default: <see cref="BackendRegistry.Default"/>).</param>
    public static Tensor Arange(double start, double stop, double step = 1, DType dtype = DType.Float32, IComputeBackend? backend = null) =>
        Dispatcher.Create(OpSet.Arange, new ArangeAttrs(start, stop, step, dtype), backend);

    /// <summary>Integer range <c>start, start + step, …</c> (int64 by default, as PyTorch does for integer arguments).</summary>
    /// <param name="start">First value.</param>
    /// <param name="stop">Exclusive bound.</param>
    /// <param name="step">Increment; must not be zero.</param>
    /// <param name="dtype">Element type.</param>
    /// <param name="backend">Backend (default: <see cref="BackendRegistry.Default"/>).</param>
    public static Tensor Arange(long start, long stop, long step = 1, DType dtype = DType.Int64, IComputeBackend? backend = null) =>
        Dispatcher.Create(OpSet.Arange, new ArangeAttrs(start, stop, step, dtype), backend);

    /// <summary><c>0, 1, …, stop − 1</c> as int64.</summary>
    /// <param name="stop">Exclusive bound (no elements when ≤ 0).</param>
    /// <param name="backend">Backend (default: <see cref="BackendRegistry.Default"/>).</param>
    public static Tensor Arange(long stop, IComputeBackend? backend = null) => Arange(0, stop, 1, DType.Int64, backend);

    /// <summary>An [<paramref name="n"/>, <paramref name="m"/>] matrix (square when <paramref name="m"/> is null) with
    /// ones on the main diagonal and zeros elsewhere.</summary>
    /// <param name="n">Rows (≥ 0).</param>
    /// <param name="m">Columns (≥ 0); null for <paramref name="n"/>.</param>
    /// <param name="dtype">Element type.</param>
    /// <param name="backend">Backend (default: <see cref="BackendRegistry.Default"/>).</param>
    public static Tensor Eye(long n, long? m = null, DType dtype = DType.Float32, IComputeBackend? backend = null) =>
        Dispatcher.Create(OpSet.Eye, new EyeAttrs(n, m ?? n, dtype), backend);
}
