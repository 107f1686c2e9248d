using DualFramework.Backends;
using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(Shape shape, double value, DType dtype = DType.Float32, IBackend? backend = null) =>
        Dispatcher.Create(OpSet.Full, new FullAttrs(shape.ToArray(), value, dtype), backend);

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(Shape shape, DType dtype = DType.Float32, IBackend? backend = null) => Full(shape, 0, dtype, backend);

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(Shape shape, DType dtype = DType.Float32, IBackend? backend = null) => Full(shape, 1, dtype, backend);

    /// <summary>Zeros with the shape, dtype and backend of <paramref name="like"/>.</summary>
    public static Tensor ZerosLike(Tensor like) => Full(like.Shape, 0, like.DType, like.Backend);

    /// <summary>Ones with the shape, dtype and backend of <paramref name="like"/>.</summary>
    public static Tensor OnesLike(Tensor like) => Full(like.Shape, 1, like.DType, like.Backend);

    /// <summary><paramref name="value"/> with the shape, dtype and backend of <paramref name="like"/>.</summary>
    public static Tensor FullLike(Tensor like, double value) => Full(like.Shape, value, like.DType, like.Backend);
}
