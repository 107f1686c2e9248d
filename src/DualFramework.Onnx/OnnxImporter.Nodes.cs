namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private static HashSet<string>? _known;

    /// <summary>Every ONNX op type some mapping handles (the per-family lists are next to their mappings). Built on first
    /// use: static initializers of different files of a partial class run in no defined order.</summary>
    private static HashSet<string> Known => _known ??= new HashSet<string>(
        ElementwiseOps.Concat(MathOps).Concat(ReduceOps).Concat(ShapeOps).Concat(CreationOps).Concat(NnOps).Concat(PoolOps).Concat(LossOps).Concat(ResizeOps).Concat(ScatterOps),
        StringComparer.Ordinal);
}
