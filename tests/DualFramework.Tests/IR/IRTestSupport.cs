using System.Runtime.InteropServices;
using DualFramework.Backends;
using DualFramework.IR;
using FluentAssertions;

namespace DualFramework.Tests.IR;

internal static class IRTestSupport
{
    public static IComputeBackend TorchB => BackendRegistry.Get("torch");

    public static float[] Rand(int seed, int n, double lo = -1, double hi = 1)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(lo + (hi - lo) * r.NextDouble())).ToArray();
    }

    public static Tensor T(int seed, params long[] shape) =>
        Tensor.FromArray(Rand(seed, (int)new Shape(shape).NumElements), new Shape(shape), TorchB);

    public static byte[] Bytes(float[] v) => MemoryMarshal.AsBytes(v.AsSpan()).ToArray();

    public static Value Const(Graph g, float[] v, params long[] shape) => g.AddConstant(new TensorSpec(new Shape(shape), DType.Float32), Bytes(v));

    /// <summary>Interprets <paramref name="g"/> on the torch backend and returns its outputs as float arrays.</summary>
    public static float[][] Interpret(Graph g, params Tensor[] inputs)
    {
        using var s = TensorScope.Begin();
        using var exe = TorchB.Compile(g);
        return exe.Run(inputs).Select(t => t.ToFloatArray()).ToArray();
    }

    public static void ShouldMatch(float[][] actual, float[][] expected, double tol = 1e-5)
    {
        actual.Length.Should().Be(expected.Length);
        for (int i = 0; i < actual.Length; i++)
        {
            actual[i].Length.Should().Be(expected[i].Length);
            for (int j = 0; j < actual[i].Length; j++)
                actual[i][j].Should().BeApproximately(expected[i][j], (float)(tol * Math.Max(1, Math.Abs(expected[i][j]))), $"output {i}, element {j}");
        }
    }
}
