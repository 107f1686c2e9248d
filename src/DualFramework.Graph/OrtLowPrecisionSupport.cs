using DualFramework.IR;
using DualFramework.IR.Passes;
using DualFramework.Operators;

namespace DualFramework.OnnxRuntime;

/// <summary>
/// Which ops of the op set ONNX Runtime's CPU execution provider (1.31.1) runs in float16 / bfloat16 as they are: an op is
/// listed only if every ONNX node its lowering emits has a kernel at that dtype. The rest run in float32 behind visible
/// casts (<see cref="LowPrecisionFallback"/>). Measured op by op; the table and how it was measured are in
/// docs/precision.md ("Half precision on the graph backend").
/// </summary>
/// <remarks>
/// <para>Only data movement has half-precision kernels on ORT's CPU provider (Reshape, Transpose, Concat, Split, Slice,
/// ScatterND, Gather, GatherElements, Identity, Cast; Expand in float16 only). Arithmetic does not: a bfloat16 Add or
/// MatMul fails with NOT_IMPLEMENTED, and a float16 one runs only because ORT inserts float32 casts of its own
/// (InsertCastTransformer), invisible in our IR — so float16 arithmetic is listed as unsupported too, and the casts are ours.</para>
/// <para>Creation ops take their dtype from an attribute and their lowerings produce any dtype; they are listed as supported
/// (the fallback could not move them anyway).</para>
/// </remarks>
internal static class OrtLowPrecisionSupport
{
    private static readonly HashSet<Op> DataMovement =
    [
        OpSet.Reshape, OpSet.Permute, OpSet.Concat, OpSet.Split, OpSet.Slice, OpSet.SliceScatter, OpSet.Take,
        OpSet.GatherElements, OpSet.StopGradient, OpSet.Cast,
    ];

    /// <summary>Whether ORT's CPU provider runs <paramref name="op"/> at <paramref name="dtype"/> without casts.</summary>
    public static bool CanRun(Op op, DType dtype) => dtype switch
    {
        DType.BFloat16 => op.IsCreation || DataMovement.Contains(op),
        // Expand (broadcast_to) has a float16 kernel but no bfloat16 one.
        DType.Float16 => op.IsCreation || DataMovement.Contains(op) || ReferenceEquals(op, OpSet.BroadcastTo),
        _ => true,
    };

    /// <summary>The predicate of <see cref="LowPrecisionFallback"/> for this backend.</summary>
    public static bool CanRun(Node node, DType dtype) => CanRun(node.Op, dtype);

    /// <summary>The fallback pass configured with this table.</summary>
    public static LowPrecisionFallback Pass() => new(CanRun);
}
