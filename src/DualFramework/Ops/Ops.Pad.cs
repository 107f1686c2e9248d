using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>Pads (or, with negative amounts, crops) the last axes, in PyTorch's order (<c>F.pad</c>):
    /// <paramref name="pads"/> = (before, after) of the last axis, then of the one before it, and so on.</summary>
    /// <param name="x">The operand.</param>
    /// <param name="pads">An even number of amounts, at most two per axis.</param>
    /// <param name="mode">Fill of the new elements; <see cref="PadMode.Edge"/> is PyTorch's <c>replicate</c> and
    /// <see cref="PadMode.Wrap"/> its <c>circular</c>.</param>
    /// <param name="value">Fill value of <see cref="PadMode.Constant"/>.</param>
    public static Tensor Pad(Tensor x, long[] pads, PadMode mode = PadMode.Constant, double value = 0)
    {
        if (pads.Length % 2 != 0 || pads.Length / 2 > x.Rank)
            throw new OpException("pad", [x.Spec], $"{pads.Length} pad amounts: expected (before, after) pairs for at most {x.Rank} axes", LayerPath.Current);
        var begin = new long[x.Rank];
        var end = new long[x.Rank];
        for (int k = 0; k < pads.Length / 2; k++)
        {
            begin[x.Rank - 1 - k] = pads[2 * k];
            end[x.Rank - 1 - k] = pads[2 * k + 1];
        }
        return Pad(x, new PadAttrs(begin, end, mode, value));
    }

    /// <summary>Pads (or crops, where an amount is negative) every axis: <paramref name="begin"/>[i] elements before and
    /// <paramref name="end"/>[i] after axis i (ONNX Pad's order).</summary>
    public static Tensor Pad(Tensor x, long[] begin, long[] end, PadMode mode = PadMode.Constant, double value = 0) =>
        Pad(x, new PadAttrs((long[])begin.Clone(), (long[])end.Clone(), mode, value));

    /// <summary>Pads with explicit attributes; the identity pad returns <paramref name="x"/>.</summary>
    public static Tensor Pad(Tensor x, PadAttrs attrs) =>
        attrs.IsIdentity && attrs.Begin.Length == x.Rank ? x : Apply(OpSet.Pad, attrs, x);
}
