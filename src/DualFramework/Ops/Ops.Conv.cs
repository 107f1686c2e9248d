using DualFramework.Operators;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>Applies a convolution with normalised attributes (operands must share one floating dtype).</summary>
    public static Tensor Conv(Tensor x, Tensor w, Tensor? bias, ConvAttrs attrs) =>
        bias == null ? Apply(OpSet.Conv, attrs, x, w) : Apply(OpSet.Conv, attrs, x, w, bias);

    /// <summary>Applies a transposed convolution with normalised attributes (operands must share one floating dtype).</summary>
    public static Tensor ConvTranspose(Tensor x, Tensor w, Tensor? bias, ConvTransposeAttrs attrs) =>
        bias == null ? Apply(OpSet.ConvTranspose, attrs, x, w) : Apply(OpSet.ConvTranspose, attrs, x, w, bias);

    /// <summary>2-D convolution of <paramref name="x"/> <c>[N, C, H, W]</c> with <paramref name="w"/> <c>[O, C/groups, kH, kW]</c>
    /// and optional bias <c>[O]</c>; the same stride, padding and dilation on both spatial dimensions.</summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
        Conv2d(x, w, bias, [stride, stride], [padding, padding], [dilation, dilation], groups);

    /// <summary>2-D convolution with per-dimension (height, width) stride, padding and dilation (null: 0 padding, 1 dilation).</summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias, int[] stride, int[]? padding = null, int[]? dilation = null, int groups = 1) =>
        ConvNd("conv", 2, x, w, bias, stride, padding, dilation, groups);

    /// <summary>1-D convolution of <paramref name="x"/> <c>[N, C, L]</c> with <paramref name="w"/> <c>[O, C/groups, k]</c>
    /// and optional bias <c>[O]</c>.</summary>
    public static Tensor Conv1d(Tensor x, Tensor w, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
        Conv1d(x, w, bias, [stride], [padding], [dilation], groups);

    /// <summary>1-D convolution with one-element stride, padding and dilation arrays (null: 0 padding, 1 dilation).</summary>
    public static Tensor Conv1d(Tensor x, Tensor w, Tensor? bias, int[] stride, int[]? padding = null, int[]? dilation = null, int groups = 1) =>
        ConvNd("conv", 1, x, w, bias, stride, padding, dilation, groups);

    /// <summary>2-D transposed convolution of <paramref name="x"/> <c>[N, Cin, H, W]</c> with <paramref name="w"/>
    /// <c>[Cin, Cout/groups, kH, kW]</c> and optional bias <c>[Cout]</c> (PyTorch's conv_transpose2d).</summary>
    public static Tensor ConvTranspose2d(Tensor x, Tensor w, Tensor? bias = null, int stride = 1, int padding = 0, int outputPadding = 0, int dilation = 1, int groups = 1) =>
        ConvTransposeNd(2, x, w, bias, [stride, stride], [padding, padding], [outputPadding, outputPadding], [dilation, dilation], groups);

    /// <summary>1-D transposed convolution of <paramref name="x"/> <c>[N, Cin, L]</c> with <paramref name="w"/>
    /// <c>[Cin, Cout/groups, k]</c> and optional bias <c>[Cout]</c> (PyTorch's conv_transpose1d).</summary>
    public static Tensor ConvTranspose1d(Tensor x, Tensor w, Tensor? bias = null, int stride = 1, int padding = 0, int outputPadding = 0, int dilation = 1, int groups = 1) =>
        ConvTransposeNd(1, x, w, bias, [stride], [padding], [outputPadding], [dilation], groups);

    /// <summary>3-D convolution of <paramref name="x"/> <c>[N, C, D, H, W]</c> with <paramref name="w"/> <c>[O, C/groups, kD, kH, kW]</c>
    /// and optional bias <c>[O]</c>; per-dimension (depth, height, width) stride, padding and dilation (null: 0 padding, 1 dilation).</summary>
    public static Tensor Conv3d(Tensor x, Tensor w, Tensor? bias, int[] stride, int[]? padding = null, int[]? dilation = null, int groups = 1) =>
        ConvNd("conv", 3, x, w, bias, stride, padding, dilation, groups);

    /// <summary>3-D transposed convolution of <paramref name="x"/> <c>[N, Cin, D, H, W]</c> with <paramref name="w"/>
    /// <c>[Cin, Cout/groups, kD, kH, kW]</c> and optional bias <c>[Cout]</c> (PyTorch's conv_transpose3d); per-dimension
    /// parameters (null: stride 1, padding 0, output padding 0, dilation 1).</summary>
    public static Tensor ConvTranspose3d(Tensor x, Tensor w, Tensor? bias = null, int[]? stride = null, int[]? padding = null, int[]? outputPadding = null,
        int[]? dilation = null, int groups = 1) =>
        ConvTransposeNd(3, x, w, bias, stride ?? [1, 1, 1], padding ?? [0, 0, 0], outputPadding ?? [0, 0, 0], dilation ?? [1, 1, 1], groups);

    private static Tensor[] ConvOperands(Tensor x, Tensor w, Tensor? bias)
    {
        var dt = DTypes.Promote(x.DType, w.DType);
        if (bias != null) dt = DTypes.Promote(dt, bias.DType);
        dt = DTypes.ToFloating(dt);
        return bias == null ? [CastTo(x, dt), CastTo(w, dt)] : [CastTo(x, dt), CastTo(w, dt), CastTo(bias, dt)];
    }

    private static long[] ConvParam(string op, string name, int[]? values, int d, int fallback, Tensor x, Tensor w)
    {
        if (values == null) return Enumerable.Repeat((long)fallback, d).ToArray();
        if (values.Length != d)
            throw new OpException(op, [x.Spec, w.Spec], $"{name} needs {d} entries, got [{string.Join(", ", values)}]", LayerPath.Current);
        return Array.ConvertAll(values, v => (long)v);
    }

    private static Tensor ConvNd(string op, int d, Tensor x, Tensor w, Tensor? bias, int[] stride, int[]? padding, int[]? dilation, int groups)
    {
        var attrs = new ConvAttrs(ConvParam(op, "stride", stride, d, 1, x, w), ConvParam(op, "padding", padding, d, 0, x, w),
            ConvParam(op, "dilation", dilation, d, 1, x, w), groups);
        return Apply(OpSet.Conv, attrs, ConvOperands(x, w, bias));
    }

    private static Tensor ConvTransposeNd(int d, Tensor x, Tensor w, Tensor? bias, int[] stride, int[] padding, int[] outputPadding, int[] dilation, int groups)
    {
        const string op = "conv_transpose";
        var attrs = new ConvTransposeAttrs(ConvParam(op, "stride", stride, d, 1, x, w), ConvParam(op, "padding", padding, d, 0, x, w),
            ConvParam(op, "output_padding", outputPadding, d, 0, x, w), ConvParam(op, "dilation", dilation, d, 1, x, w), groups);
        return Apply(OpSet.ConvTranspose, attrs, ConvOperands(x, w, bias));
    }
}
