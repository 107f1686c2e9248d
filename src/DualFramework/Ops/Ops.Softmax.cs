using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    private static SoftmaxAttrs SoftmaxAxis(string op, Tensor x, int axis)
    {
        if (x.Rank == 0) throw new OpException(op, [x.Spec], $"{op} needs an operand of rank at least 1", LayerPath.Current);
        int a = x.Shape.TryNormalizeAxis(axis);
        if (a < 0) throw new OpException(op, [x.Spec], $"axis {axis} is out of range for rank {x.Rank}", LayerPath.Current);
        return new SoftmaxAttrs(a);
    }

    /// <summary>Softmax along <paramref name="axis"/>: <c>exp(x) / Σ exp(x)</c> (computed stably); integer inputs give float32.</summary>
    /// <param name="x">A tensor of rank ≥ 1.</param>
    /// <param name="axis">The normalised axis (negative counts from the end).</param>
    public static Tensor Softmax(Tensor x, int axis = -1) => FloatUnary(OpSet.Softmax, x, SoftmaxAxis("softmax", x, axis));

    /// <summary>Log-softmax along <paramref name="axis"/>: <c>x − log Σ exp(x)</c> (computed stably); integer inputs give float32.</summary>
    /// <param name="x">A tensor of rank ≥ 1.</param>
    /// <param name="axis">The normalised axis (negative counts from the end).</param>
    public static Tensor LogSoftmax(Tensor x, int axis = -1) => FloatUnary(OpSet.LogSoftmax, x, SoftmaxAxis("log_softmax", x, axis));
}
