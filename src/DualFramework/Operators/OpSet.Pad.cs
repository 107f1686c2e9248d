using DualFramework.Autodiff;
using static DualFramework.Ops;

namespace DualFramework.Operators;

/// <summary>What <c>pad</c> puts in the new border elements.</summary>
public enum PadMode
{
    /// <summary>A constant value (PyTorch <c>constant</c>, ONNX <c>constant</c>).</summary>
    Constant,

    /// <summary>The mirror image without repeating the edge element (PyTorch <c>reflect</c>, ONNX <c>reflect</c>,
    /// NumPy <c>reflect</c>): <c>[a b c]</c> padded by 2 on the left gives <c>[c b a b c]</c>. Pads longer than the axis
    /// keep reflecting, as NumPy does.</summary>
    Reflect,

    /// <summary>The edge element repeated (PyTorch <c>replicate</c>, ONNX <c>edge</c>).</summary>
    Edge,

    /// <summary>The axis continued periodically (PyTorch <c>circular</c>, ONNX <c>wrap</c>).</summary>
    Wrap,
}

/// <summary>Per-axis pad amounts of <c>pad</c>; a negative amount removes elements from that side.</summary>
/// <param name="Begin">Elements added before the first element of each axis (one entry per axis of the operand).</param>
/// <param name="End">Elements added after the last element of each axis.</param>
/// <param name="Mode">How the new elements are filled.</param>
/// <param name="Value">The fill value of <see cref="PadMode.Constant"/> (ignored otherwise).</param>
public sealed record PadAttrs(long[] Begin, long[] End, PadMode Mode, double Value) : OpAttrs
{
    /// <summary>Whether no axis changes.</summary>
    public bool IsIdentity => Begin.All(b => b == 0) && End.All(e => e == 0);

    /// <summary>For each output position of <paramref name="axis"/>, the operand index it reads (−1: the constant).</summary>
    /// <param name="axis">An axis of the operand.</param>
    /// <param name="n">The operand's size along it.</param>
    public long[] SourceIndices(int axis, long n)
    {
        long b = Begin[axis], m = n + b + End[axis];
        var src = new long[Math.Max(m, 0)];
        long period = Mode == PadMode.Reflect ? 2 * (n - 1) : n;
        for (long i = 0; i < src.Length; i++)
        {
            long p = i - b;
            if (p >= 0 && p < n) src[i] = p;
            else src[i] = Mode switch
            {
                PadMode.Constant => -1,
                PadMode.Edge => p < 0 ? 0 : n - 1,
                PadMode.Wrap => ((p % n) + n) % n,
                // Reflection is periodic with period 2(n−1); a one-element axis reflects onto itself.
                _ when period == 0 => 0,
                _ => Reflect(((p % period) + period) % period, period),
            };
        }
        return src;
    }

    private static long Reflect(long q, long period) => q < period / 2 + 1 ? q : period - q;
}

/// <summary>
/// <c>pad(x)</c>: adds (or, where an amount is negative, removes) elements at both ends of every axis — ONNX Pad,
/// <c>torch.nn.functional.pad</c>, <c>numpy.pad</c>. Constant pads fill with a value; reflect, edge and wrap pads copy
/// operand elements, so they need a non-empty axis wherever they add elements.
/// </summary>
/// <remarks>The gradient of a constant pad is the constant pad with negated amounts (it crops what was added and puts
/// zeros where the forward cropped); the other modes read each operand element from one or more output positions, so their
/// gradient sums those positions back (the adjoint of a gather along each padded axis).</remarks>
public sealed class PadOp : Op<PadAttrs>
{
    internal PadOp() : base("pad") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, PadAttrs attrs)
    {
        Arity(inputs, 1);
        var x = inputs[0];
        int rank = x.Shape.Rank;
        if (attrs.Begin.Length != rank || attrs.End.Length != rank)
            throw Fail(inputs, $"pads give {attrs.Begin.Length} begin and {attrs.End.Length} end amounts for a rank-{rank} operand");
        var dims = new long[rank];
        for (int a = 0; a < rank; a++)
        {
            long n = x.Shape[a], b = attrs.Begin[a], e = attrs.End[a];
            dims[a] = n + b + e;
            if (dims[a] < 0) throw Fail(inputs, $"pads ({b}, {e}) remove more than the {n} elements of axis {a}");
            if (attrs.Mode != PadMode.Constant && n == 0 && dims[a] > 0)
                throw Fail(inputs, $"{attrs.Mode.ToString().ToLowerInvariant()} padding cannot fill axis {a}: it has no elements");
        }
        if (attrs.Mode == PadMode.Constant && !x.DType.IsFloating() && attrs.Value != Math.Round(attrs.Value))
            throw Fail(inputs, $"pad value {attrs.Value} is not representable in {x.DType.Name()}");
        return One(Shape.Own(dims), x.DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        if (!ctx.NeedsGrad(0)) return [null];
        var a = ctx.AttrsAs<PadAttrs>();
        var g = ctx.Grad;
        if (a.Mode == PadMode.Constant)
            return [Pad(g, new PadAttrs(a.Begin.Select(v => -v).ToArray(), a.End.Select(v => -v).ToArray(), PadMode.Constant, 0))];
        var shape = ctx.Inputs[0].Shape;
        for (int axis = 0; axis < shape.Rank; axis++)
        {
            if (a.Begin[axis] == 0 && a.End[axis] == 0) continue;
            var idx = Tensor.FromArray(a.SourceIndices(axis, shape[axis]), new Shape((long)g.Shape[axis]), g.Backend);
            g = TakeOp.Adjoint(g, idx, axis, shape[axis]);
        }
        return [g];
    }
}

public static partial class OpSet
{
    /// <summary>Padding (constant, reflect, edge, wrap) and cropping at both ends of each axis.</summary>
    public static readonly PadOp Pad = new();
}
