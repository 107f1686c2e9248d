using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>Same elements, new shape (one dimension may be −1).</summary>
    public static Tensor Reshape(Tensor x, params long[] shape) => Apply(OpSet.Reshape, new ShapeAttrs((long[])shape.Clone()), x);

    /// <summary>Broadcasts to <paramref name="shape"/> (NumPy rules).</summary>
    public static Tensor BroadcastTo(Tensor x, Shape shape) =>
        x.Shape == shape ? x : Apply(OpSet.BroadcastTo, new ShapeAttrs(shape.ToArray()), x);
}
