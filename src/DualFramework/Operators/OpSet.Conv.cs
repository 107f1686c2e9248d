using DualFramework.Autodiff;
using static DualFramework.Ops;

namespace DualFramework.Operators;

/// <summary>Convolution parameters, one entry per spatial dimension (1 to 3 of them).</summary>
/// <param name="Stride">Step between windows (≥ 1).</param>
/// <param name="Padding">Zero padding added on both sides (≥ 0).</param>
/// <param name="Dilation">Spacing between kernel taps (≥ 1).</param>
/// <param name="Groups">Number of channel groups (divides input and output channels).</param>
public sealed record ConvAttrs(long[] Stride, long[] Padding, long[] Dilation, long Groups) : OpAttrs
{
    /// <summary>Number of spatial dimensions.</summary>
    public int SpatialRank => Stride.Length;
}

/// <summary>Transposed-convolution parameters, one entry per spatial dimension (1 to 3 of them).</summary>
/// <param name="Stride">Stride of the convolution this op transposes (≥ 1).</param>
/// <param name="Padding">Padding of that convolution (≥ 0); removed from both sides of the output.</param>
/// <param name="OutputPadding">Extra size added on one side of the output (0 ≤ value &lt; max(stride, dilation)).</param>
/// <param name="Dilation">Spacing between kernel taps (≥ 1).</param>
/// <param name="Groups">Number of channel groups.</param>
public sealed record ConvTransposeAttrs(long[] Stride, long[] Padding, long[] OutputPadding, long[] Dilation, long Groups) : OpAttrs
{
    /// <summary>Number of spatial dimensions.</summary>
    public int SpatialRank => Stride.Length;
}

/// <summary>
/// 1-D, 2-D or 3-D convolution (cross-correlation, as PyTorch): input <c>[N, C, *S]</c>, weight <c>[O, C/groups, *k]</c>,
/// optional bias <c>[O]</c> as a third operand; output <c>[N, O, *(⌊(S + 2p − d(k−1) − 1)/s⌋ + 1)]</c>.
/// </summary>
public sealed class ConvOp : Op<ConvAttrs>
{
    internal ConvOp() : base("conv") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, ConvAttrs attrs)
    {
        if (inputs.Length is not (2 or 3)) throw Fail(inputs, $"expects 2 or 3 operands (input, weight[, bias]), got {inputs.Length}");
        int d = attrs.SpatialRank;
        if (d is not (1 or 2 or 3)) throw Fail(inputs, $"supports 1 to 3 spatial dimensions, got {d}");
        if (attrs.Padding.Length != d || attrs.Dilation.Length != d)
            throw Fail(inputs, $"stride, padding and dilation need {d} entries each");
        ConvChecks.Common(this, inputs, d);
        for (int i = 0; i < d; i++)
        {
            if (attrs.Stride[i] < 1) throw Fail(inputs, $"stride must be positive, got {attrs.Stride[i]}");
            if (attrs.Dilation[i] < 1) throw Fail(inputs, $"dilation must be positive, got {attrs.Dilation[i]}");
            if (attrs.Padding[i] < 0) throw Fail(inputs, $"padding must be non-negative, got {attrs.Padding[i]}");
        }
        Shape x = inputs[0].Shape, w = inputs[1].Shape;
        long g = attrs.Groups, c = x[1], o = w[0];
        if (g < 1) throw Fail(inputs, $"groups must be positive, got {g}");
        if (c % g != 0) throw Fail(inputs, $"input channels {c} are not divisible by groups {g}");
        if (o % g != 0) throw Fail(inputs, $"output channels {o} are not divisible by groups {g}");
        if (w[1] != c / g) throw Fail(inputs, $"weight expects {w[1]} input channels per group, the input has {c} channels in {g} group(s) ({c / g} per group)");
        if (inputs.Length == 3 && (inputs[2].Shape.Rank != 1 || inputs[2].Shape[0] != o))
            throw Fail(inputs, $"bias must have shape [{o}], got {inputs[2].Shape}");
        var dims = new long[d + 2];
        dims[0] = x[0];
        dims[1] = o;
        for (int i = 0; i < d; i++)
        {
            long k = w[2 + i], padded = x[2 + i] + 2 * attrs.Padding[i], span = attrs.Dilation[i] * (k - 1) + 1;
            if (span > padded)
                throw Fail(inputs, $"kernel size {k} (dilation {attrs.Dilation[i]}, span {span}) is larger than the padded input size {padded} along spatial dimension {i}");
            dims[2 + i] = (padded - span) / attrs.Stride[i] + 1;
        }
        return One(Shape.Own(dims), inputs[0].DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        var a = ctx.AttrsAs<ConvAttrs>();
        Tensor x = ctx.Inputs[0], w = ctx.Inputs[1], g = ctx.Grad;
        int d = a.SpatialRank;
        Tensor? gx = null, gw = null, gb = null;
        if (ctx.NeedsGrad(0))
        {
            // The rows dropped by the floor in the output size come back as output padding of the transposed conv.
            var outPad = new long[d];
            for (int i = 0; i < d; i++)
                outPad[i] = (x.Shape[2 + i] + 2 * a.Padding[i] - a.Dilation[i] * (w.Shape[2 + i] - 1) - 1) % a.Stride[i];
            gx = ConvTranspose(g, w, null, new ConvTransposeAttrs(a.Stride, a.Padding, outPad, a.Dilation, a.Groups));
        }
        if (ctx.NeedsGrad(1)) gw = ConvChecks.WeightGrad(x, g, w.Shape, a.Stride, a.Padding, a.Dilation, a.Groups);
        if (ctx.Inputs.Count == 3 && ctx.NeedsGrad(2)) gb = ConvChecks.BiasGrad(g);
        return ctx.Inputs.Count == 3 ? [gx, gw, gb] : [gx, gw];
    }
}

/// <summary>
/// 1-D, 2-D or 3-D transposed convolution (the adjoint of <see cref="ConvOp"/> with respect to its input, as PyTorch's
/// conv_transpose): input <c>[N, Cin, *S]</c>, weight <c>[Cin, Cout/groups, *k]</c>, optional bias <c>[Cout]</c>;
/// output <c>[N, Cout, *((S − 1)s − 2p + d(k−1) + output_padding + 1)]</c>.
/// </summary>
public sealed class ConvTransposeOp : Op<ConvTransposeAttrs>
{
    internal ConvTransposeOp() : base("conv_transpose") { }

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, ConvTransposeAttrs attrs)
    {
        if (inputs.Length is not (2 or 3)) throw Fail(inputs, $"expects 2 or 3 operands (input, weight[, bias]), got {inputs.Length}");
        int d = attrs.SpatialRank;
        if (d is not (1 or 2 or 3)) throw Fail(inputs, $"supports 1 to 3 spatial dimensions, got {d}");
        if (attrs.Padding.Length != d || attrs.Dilation.Length != d || attrs.OutputPadding.Length != d)
            throw Fail(inputs, $"stride, padding, output_padding and dilation need {d} entries each");
        ConvChecks.Common(this, inputs, d);
        for (int i = 0; i < d; i++)
        {
            long s = attrs.Stride[i], dl = attrs.Dilation[i], op = attrs.OutputPadding[i];
            if (s < 1) throw Fail(inputs, $"stride must be positive, got {s}");
            if (dl < 1) throw Fail(inputs, $"dilation must be positive, got {dl}");
            if (attrs.Padding[i] < 0) throw Fail(inputs, $"padding must be non-negative, got {attrs.Padding[i]}");
            if (op < 0 || op >= Math.Max(s, dl))
                throw Fail(inputs, $"output_padding {op} must be non-negative and smaller than stride {s} or dilation {dl}");
        }
        Shape x = inputs[0].Shape, w = inputs[1].Shape;
        long g = attrs.Groups, c = x[1];
        if (g < 1) throw Fail(inputs, $"groups must be positive, got {g}");
        if (w[0] != c) throw Fail(inputs, $"weight expects {w[0]} input channels, the input has {c}");
        if (c % g != 0) throw Fail(inputs, $"input channels {c} are not divisible by groups {g}");
        long o = w[1] * g;
        if (inputs.Length == 3 && (inputs[2].Shape.Rank != 1 || inputs[2].Shape[0] != o))
            throw Fail(inputs, $"bias must have shape [{o}], got {inputs[2].Shape}");
        var dims = new long[d + 2];
        dims[0] = x[0];
        dims[1] = o;
        for (int i = 0; i < d; i++)
        {
            long n = (x[2 + i] - 1) * attrs.Stride[i] - 2 * attrs.Padding[i] + attrs.Dilation[i] * (w[2 + i] - 1) + attrs.OutputPadding[i] + 1;
            if (x[2 + i] < 1 || n < 1) throw Fail(inputs, $"output size along spatial dimension {i} would be {n}; it must be positive");
            dims[2 + i] = n;
        }
        return One(Shape.Own(dims), inputs[0].DType);
    }

    /// <inheritdoc />
    public override Tensor?[] Gradient(GradContext ctx)
    {
        var a = ctx.AttrsAs<ConvTransposeAttrs>();
        Tensor x = ctx.Inputs[0], w = ctx.Inputs[1], g = ctx.Grad;
        int d = a.SpatialRank;
        Tensor? gx = null, gw = null, gb = null;
        if (ctx.NeedsGrad(0))
        {
            // The forward conv of g may produce extra trailing positions (output_padding ≥ stride); they lie outside x.
            gx = Conv(g, w, null, new ConvAttrs(a.Stride, a.Padding, a.Dilation, a.Groups));
            if (gx.Shape != x.Shape)
            {
                var axes = Enumerable.Range(2, d).ToArray();
                gx = Slice(gx, new SliceAttrs(axes, new long[d], x.Shape.Dims[2..].ToArray(), Enumerable.Repeat(1L, d).ToArray()));
            }
        }
        // conv_transpose(x, w) is the input-adjoint of conv(·, w), so its weight gradient is that conv's weight gradient
        // with the roles of input and output gradient exchanged.
        if (ctx.NeedsGrad(1)) gw = ConvChecks.WeightGrad(g, x, w.Shape, a.Stride, a.Padding, a.Dilation, a.Groups);
        if (ctx.Inputs.Count == 3 && ctx.NeedsGrad(2)) gb = ConvChecks.BiasGrad(g);
        return ctx.Inputs.Count == 3 ? [gx, gw, gb] : [gx, gw];
    }
}

internal static class ConvChecks
{
    /// <summary>Ranks and dtypes shared by conv and conv_transpose.</summary>
    public static void Common(Op op, ReadOnlySpan<TensorSpec> inputs, int d)
    {
        var dt = inputs[0].DType;
        foreach (var s in inputs)
            if (s.DType != dt) throw Fail(op, inputs, $"operand dtypes differ ({dt.Name()} vs {s.DType.Name()}); promote them first");
        if (!dt.IsFloating()) throw Fail(op, inputs, $"needs floating operands, got {dt.Name()}");
        Shape x = inputs[0].Shape, w = inputs[1].Shape;
        string layout = d switch { 1 => "[N, C, L]", 2 => "[N, C, H, W]", _ => "[N, C, D, H, W]" };
        if (x.Rank != d + 2) throw Fail(op, inputs, $"input must have rank {d + 2} {layout}, got {x}");
        if (w.Rank != d + 2) throw Fail(op, inputs, $"weight must have rank {d + 2}, got {w}");
        if (x[1] < 1) throw Fail(op, inputs, "input has no channels");
        for (int i = 0; i < w.Rank; i++)
            if (w[i] < 1) throw Fail(op, inputs, $"weight dimensions must be positive, got {w}");
    }

    private static OpException Fail(Op op, ReadOnlySpan<TensorSpec> inputs, string reason) =>
        new(op.Name, inputs.ToArray(), reason, LayerPath.Current);

    public static Tensor BiasGrad(Tensor g) => Sum(g, [0, .. Enumerable.Range(2, g.Rank - 2)]);

    /// <summary>
    /// Gradient of <c>conv(x, w)</c> with respect to <c>w</c> (shape <paramref name="wShape"/>) given the output gradient
    /// <paramref name="gy"/>: a convolution of x with gy in which the batch plays the role of the channels, so stride
    /// and dilation swap places.
    /// </summary>
    public static Tensor WeightGrad(Tensor x, Tensor gy, Shape wShape, long[] stride, long[] padding, long[] dilation, long groups)
    {
        int d = stride.Length;
        long n = x.Shape[0], c = x.Shape[1], cg = c / groups;
        if (n == 0) return Zeros(wShape, x.DType, x.Backend);
        var spatial = x.Shape.Dims[2..].ToArray();
        var rest = Enumerable.Range(3, d).ToArray();
        // x[n, gi·Cg + c] → x'[c, gi·N + n]: each group's batch becomes that group's input channels.
        var xs = Reshape(x, [n, groups, cg, .. spatial]);
        xs = Reshape(Permute(xs, [2, 1, 0, .. rest]), [cg, groups * n, .. spatial]);
        var gs = Permute(gy, [1, 0, .. Enumerable.Range(2, d)]);
        var r = Conv(xs, gs, null, new ConvAttrs(dilation, padding, stride, groups));
        // r is [Cg, O, *K'] with K' ≥ k; the surplus comes from input rows the forward conv never reached.
        bool extra = false;
        for (int i = 0; i < d; i++) extra |= r.Shape[2 + i] != wShape[2 + i];
        if (extra)
            r = Slice(r, new SliceAttrs(Enumerable.Range(2, d).ToArray(), new long[d], wShape.Dims[2..].ToArray(), Enumerable.Repeat(1L, d).ToArray()));
        return Permute(r, [1, 0, .. Enumerable.Range(2, d)]);
    }
}

public static partial class OpSet
{
    /// <summary>1-D / 2-D / 3-D convolution.</summary>
    public static readonly ConvOp Conv = new();

    /// <summary>1-D / 2-D / 3-D transposed convolution.</summary>
    public static readonly ConvTransposeOp ConvTranspose = new();
}
