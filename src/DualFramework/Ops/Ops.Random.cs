using DualFramework.Backends;
using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>Uniform random values in [<paramref name="low"/>, <paramref name="high"/>) drawn with the next seed of
    /// <paramref name="generator"/>.</summary>
    public static Tensor RandomUniform(Shape shape, Generator generator, double low = 0, double high = 1, DType dtype = DType.Float32, IComputeBackend? backend = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        return RandomUniform(shape, generator.NextSeed(), low, high, dtype, backend);
    }

    /// <summary>Uniform random values in [<paramref name="low"/>, <paramref name="high"/>) for an explicit op seed.</summary>
    public static Tensor RandomUniform(Shape shape, ulong seed, double low = 0, double high = 1, DType dtype = DType.Float32, IComputeBackend? backend = null) =>
        Dispatcher.Create(OpSet.RandomUniform, new RandomUniformAttrs(shape.ToArray(), low, high, dtype, seed), backend);

    /// <summary>Normal random values with <paramref name="mean"/> and <paramref name="std"/> drawn with the next seed of
    /// <paramref name="generator"/>.</summary>
    public static Tensor RandomNormal(Shape shape, Generator generator, double mean = 0, double std = 1, DType dtype = DType.Float32, IComputeBackend? backend = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        return RandomNormal(shape, generator.NextSeed(), mean, std, dtype, backend);
    }

    /// <summary>Normal random values with <paramref name="mean"/> and <paramref name="std"/> for an explicit op seed.</summary>
    public static Tensor RandomNormal(Shape shape, ulong seed, double mean = 0, double std = 1, DType dtype = DType.Float32, IComputeBackend? backend = null) =>
        Dispatcher.Create(OpSet.RandomNormal, new RandomNormalAttrs(shape.ToArray(), mean, std, dtype, seed), backend);
}
