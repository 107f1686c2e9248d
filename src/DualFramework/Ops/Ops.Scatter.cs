using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    private static Tensor IndexOperand(Tensor index) =>
        index.DType is DType.Int32 or DType.Int8 or DType.UInt8 ? Cast(index, DType.Int64) : index;

    private static int IndexAxis(string op, Tensor x, Tensor index, int axis)
    {
        int a = x.Shape.TryNormalizeAxis(axis);
        if (a < 0) throw new OpException(op, [x.Spec, index.Spec], $"axis {axis} is out of range for rank {x.Rank}", LayerPath.Current);
        return a;
    }

    /// <summary>torch.gather: <c>out[i…] = x[i…]</c> with the coordinate along <paramref name="axis"/> taken from
    /// <paramref name="index"/> (integer, same rank as <paramref name="x"/>; smaller integer types are widened to int64).</summary>
    public static Tensor GatherElements(Tensor x, Tensor index, int axis) =>
        Apply(OpSet.GatherElements, new IndexAxisAttrs(IndexAxis("gather_elements", x, index, axis)), x, IndexOperand(index));

    /// <summary>Out-of-place torch.scatter_add: a copy of <paramref name="baseTensor"/> with each <paramref name="source"/>
    /// element (within <paramref name="index"/>'s shape) added at the position given by <paramref name="index"/> along
    /// <paramref name="axis"/>. Base and source dtypes are promoted.</summary>
    public static Tensor ScatterAdd(Tensor baseTensor, Tensor index, Tensor source, int axis)
    {
        var a = IndexAxis("scatter_add", baseTensor, index, axis);
        var dt = DTypes.Promote(baseTensor.DType, source.DType);
        return Apply(OpSet.ScatterAdd, new IndexAxisAttrs(a), CastTo(baseTensor, dt), IndexOperand(index), CastTo(source, dt));
    }
}
