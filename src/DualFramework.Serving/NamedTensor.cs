namespace DualFramework.Serving;

/// <summary>A named dense tensor in managed memory, row-major: a request input or a response output.</summary>
/// <param name="Name">Input or output name.</param>
/// <param name="DType">Element type; <paramref name="Data"/> is a <c>float[]</c>, <c>double[]</c>, <c>int[]</c> or <c>long[]</c> to match.</param>
/// <param name="Shape">Dimensions.</param>
/// <param name="Data">The elements, row-major; its length is the product of <paramref name="Shape"/>.</param>
public sealed record NamedTensor(string Name, TensorDType DType, long[] Shape, Array Data)
{
    /// <summary>The elements as a typed array (throws when <typeparamref name="T"/> does not match the dtype).</summary>
    public T[] As<T>() => Data as T[] ?? throw new InvalidCastException($"tensor '{Name}' holds {DType.Name()}, not {typeof(T).Name}");

    /// <summary>Number of elements a shape holds, or -1 when a dimension is negative or the count overflows.</summary>
    public static long ElementCount(IReadOnlyList<long> shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0) return -1;
            try { n = checked(n * d); }
            catch (OverflowException) { return -1; }
        }
        return n;
    }
}
