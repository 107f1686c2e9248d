using System.Runtime.CompilerServices;
using DualFramework.Operators;

namespace DualFramework.Tests.Support;


/// <summary>One canonical small application of every differentiable op, shared by the gradient-coverage and parity tests.
/// Tensors made inside a case live on the backend of its first operand, so a case runs on any backend.</summary>
public static class OpCases
{
    private static Tensor I64(Tensor like, params long[] v) => Tensor.FromArray(v, new Shape(v.Length), like.Backend);

    private static Tensor I64(Tensor like, long[] v, Shape shape) => Tensor.FromArray(v, shape, like.Backend);

    // The outputs of a multi-output op, flattened into one vector.
    private static Tensor Flat(ITuple outputs) =>
        Ops.Concat(Enumerable.Range(0, outputs.Length).Select(i => Ops.Reshape((Tensor)outputs[i]!, -1)).ToArray(), 0);

    public sealed record Case(Func<Tensor[], Tensor> F, Arg[] Args, double Eps = 1e-6, double Rtol = 1e-5)
    {
        public static implicit operator Case((Func<Tensor[], Tensor> f, Arg[] args) c) => new(c.f, c.args);
    }

    public static readonly IReadOnlyDictionary<string, Case> Cases = new Dictionary<string, Case>()
    {
        ["abs"] = (t => Ops.Abs(t[0]), [Arg.Of([3], [-1.5, 0.5, 2.0])]),
        ["neg"] = (t => Ops.Neg(t[0]), [Arg.Random(1, -1, 1, 3)]),
        ["exp"] = (t => Ops.Exp(t[0]), [Arg.Random(2, -1, 1, 3)]),
        ["log"] = (t => Ops.Log(t[0]), [Arg.Random(3, 0.5, 2, 3)]),
        ["sqrt"] = (t => Ops.Sqrt(t[0]), [Arg.Random(4, 0.5, 2, 3)]),
        ["rsqrt"] = (t => Ops.Rsqrt(t[0]), [Arg.Random(5, 0.5, 2, 3)]),
        ["tanh"] = (t => Ops.Tanh(t[0]), [Arg.Random(6, -2, 2, 3)]),
        ["sigmoid"] = (t => Ops.Sigmoid(t[0]), [Arg.Random(7, -2, 2, 3)]),
        ["erf"] = (t => Ops.Erf(t[0]), [Arg.Random(8, -2, 2, 3)]),
        ["relu"] = (t => Ops.Relu(t[0]), [Arg.Of([4], [-1.0, -0.2, 0.3, 2.0])]),
        ["leaky_relu"] = (t => Ops.LeakyRelu(t[0], 0.1), [Arg.Of([4], [-1.0, -0.2, 0.3, 2.0])]),
        ["gelu"] = (t => Ops.Gelu(t[0]), [Arg.Random(9, -2, 2, 4)]),
        ["softplus"] = (t => Ops.Softplus(t[0]), [Arg.Random(10, -3, 3, 4)]),
        ["clamp"] = (t => Ops.Clamp(t[0], -0.5, 0.5), [Arg.Of([4], [-1.0, -0.2, 0.3, 2.0])]),
        // float32 rounding in the round trip needs a coarser finite-difference step.
        ["cast"] = new Case(t => Ops.Cast(Ops.Cast(t[0], DType.Float32), DType.Float64), [Arg.Of([2], [0.5, -1.25])], 1e-3, 1e-3),
        ["add"] = (t => Ops.Add(t[0], t[1]), [Arg.Random(11, -1, 1, 2, 3), Arg.Random(12, -1, 1, 3)]),
        ["sub"] = (t => Ops.Sub(t[0], t[1]), [Arg.Random(13, -1, 1, 2, 3), Arg.Random(14, -1, 1, 2, 1)]),
        ["mul"] = (t => Ops.Mul(t[0], t[1]), [Arg.Random(15, -1, 1, 2, 3), Arg.Random(16, -1, 1, 3)]),
        ["div"] = (t => Ops.Div(t[0], t[1]), [Arg.Random(17, -1, 1, 2, 3), Arg.Random(18, 0.5, 2, 3)]),
        ["pow"] = (t => Ops.Pow(t[0], t[1]), [Arg.Random(19, 0.5, 2, 3), Arg.Random(20, -1, 2, 3)]),
        ["maximum"] = (t => Ops.Maximum(t[0], t[1]), [Arg.Of([3], [0.1, 0.9, -0.5]), Arg.Of([3], [0.3, 0.2, 0.4])]),
        ["minimum"] = (t => Ops.Minimum(t[0], t[1]), [Arg.Of([3], [0.1, 0.9, -0.5]), Arg.Of([3], [0.3, 0.2, 0.4])]),
        ["where"] = (t => Ops.Where(Ops.Greater(t[0], 0.0), t[0], t[1]), [Arg.Of([3], [-0.5, 0.5, 1.5]), Arg.Random(21, -1, 1, 3)]),
        ["matmul"] = (t => Ops.MatMul(t[0], t[1]), [Arg.Random(22, -1, 1, 2, 2, 3), Arg.Random(23, -1, 1, 3, 2)]),
        ["linear"] = (t => Ops.Linear(t[0], t[1], t[2]), [Arg.Random(60, -1, 1, 2, 2, 3), Arg.Random(61, -1, 1, 4, 3), Arg.Random(62, -1, 1, 4)]),
        ["cross_entropy"] = (t => Ops.CrossEntropy(t[0], I64(t[0], 2, -100, 0), Ops.Cast(Tensor.FromArray(new[] { 0.5, 2.0, 1.0, 1.5 }, new Shape(4), t[0].Backend), t[0].DType), -100, 0.1,
            DualFramework.Losses.Reduction.Mean), [Arg.Random(63, -2, 2, 3, 4)]),
        ["sum"] = (t => Ops.Sum(t[0], 1, keepDims: true), [Arg.Random(24, -1, 1, 2, 3)]),
        ["mean"] = (t => Ops.Mean(t[0], 0), [Arg.Random(25, -1, 1, 2, 3)]),
        ["max"] = (t => Ops.Max(t[0], 1), [Arg.Of([2, 3], [0.1, 0.7, 0.3, 0.9, 0.2, 0.4])]),
        ["min"] = (t => Ops.Min(t[0], 1), [Arg.Of([2, 3], [0.1, 0.7, 0.3, 0.9, 0.2, 0.4])]),
        ["softmax"] = (t => Ops.Softmax(t[0], -1), [Arg.Random(26, -2, 2, 2, 3)]),
        ["log_softmax"] = (t => Ops.LogSoftmax(t[0], 0), [Arg.Random(27, -2, 2, 2, 3)]),
        ["reshape"] = (t => Ops.Reshape(t[0], 3, 2), [Arg.Random(28, -1, 1, 2, 3)]),
        ["permute"] = (t => Ops.Permute(t[0], 1, 0), [Arg.Random(29, -1, 1, 2, 3)]),
        ["broadcast_to"] = (t => Ops.BroadcastTo(t[0], new Shape(2, 3)), [Arg.Random(30, -1, 1, 3)]),
        ["concat"] = (t => Ops.Concat([t[0], t[1]], 1), [Arg.Random(31, -1, 1, 2, 1), Arg.Random(32, -1, 1, 2, 2)]),
        ["split"] = (t => Ops.Mul(Ops.Split(t[0], [1L, 2], 1)[1], 2.0), [Arg.Random(33, -1, 1, 2, 3)]),
        ["slice"] = (t => Ops.Slice(t[0], 1, 0, 3, 2), [Arg.Random(34, -1, 1, 2, 3)]),
        ["slice_scatter"] = (t => Ops.SliceScatter(t[0], t[1], new SliceAttrs([1], [1], [3], [1])), [Arg.Random(35, -1, 1, 2, 3), Arg.Random(36, -1, 1, 2, 2)]),
        // Every mode in one case (the coverage table has one entry per op): crops, repeated reflection, all axes padded.
        ["pad"] = (t => Ops.Add(Ops.Add(Ops.Pad(t[0], [5, 1, -1, 1], PadMode.Constant, 0.5), Ops.Pad(t[0], [5, 1, -1, 1], PadMode.Reflect)),
            Ops.Mul(Ops.Pad(t[0], [5, 1, -1, 1], PadMode.Edge), Ops.Pad(t[0], [5, 1, -1, 1], PadMode.Wrap))), [Arg.Random(56, -1, 1, 2, 3)]),
        ["topk"] = (t => Ops.TopK(t[0], 2, 1).Values, [Arg.Random(83, -1, 1, 2, 4)]),
        ["det"] = (t => Ops.Det(t[0]), [Arg.Random(84, -1, 1, 2, 3, 3)]),
        // Three modes in one case: reflection and border padding, aligned corners, grid positions outside the input.
        ["grid_sample"] = (t => Ops.Add(Ops.Add(Ops.GridSample(t[0], t[1], GridSampleMode.Bilinear, GridSamplePadding.Reflection),
            Ops.GridSample(t[0], t[1], GridSampleMode.Bicubic, GridSamplePadding.Border, true)), Ops.GridSample(t[0], t[1], GridSampleMode.Nearest)),
            [Arg.Random(57, -1, 1, 1, 2, 3, 4), Arg.Random(58, -1.3, 1.3, 1, 2, 3, 2)]),
        ["take"] = (t => Ops.Take(t[0], I64(t[0], 2, 0, 2), 1), [Arg.Random(37, -1, 1, 2, 3)]),
        ["gather_elements"] = (t => Ops.GatherElements(t[0], I64(t[0], [0, 2, 1, 1], new Shape(2, 2)), 1), [Arg.Random(38, -1, 1, 2, 3)]),
        ["scatter_add"] = (t => Ops.ScatterAdd(t[0], I64(t[0], [0, 2, 2, 1], new Shape(2, 2)), t[1], 1), [Arg.Random(39, -1, 1, 2, 3), Arg.Random(40, -1, 1, 2, 2)]),
        ["conv"] = (t => Ops.Conv2d(t[0], t[1], t[2], stride: 2, padding: 1), [Arg.Random(41, -1, 1, 1, 2, 5, 5), Arg.Random(42, -1, 1, 2, 2, 3, 3), Arg.Random(43, -1, 1, 2)]),
        ["conv_transpose"] = (t => Ops.ConvTranspose2d(t[0], t[1], null, stride: 2), [Arg.Random(44, -1, 1, 1, 2, 3, 3), Arg.Random(45, -1, 1, 2, 1, 2, 2)]),
        ["max_pool2d"] = (t => Ops.MaxPool2d(t[0], 2), [Arg.Of([1, 1, 2, 4], [0.1, 0.8, 0.3, 0.2, 0.5, 0.4, 0.9, 0.6])]),
        ["max_unpool2d"] = (t => Ops.MaxUnpool2d(t[0], I64(t[0], [4, 0, 7, 2, 8, 6, 1, 3], new Shape(1, 2, 2, 2)), 2, outputSize: [3, 3]), [Arg.Random(55, -1, 1, 1, 2, 2, 2)]),
        ["avg_pool2d"] = (t => Ops.AvgPool2d(t[0], 2, 1, 1, countIncludePad: false), [Arg.Random(46, -1, 1, 1, 1, 3, 3)]),
        ["adaptive_avg_pool2d"] = (t => Ops.AdaptiveAvgPool2d(t[0], 2, 3), [Arg.Random(47, -1, 1, 1, 1, 3, 4)]),
        ["lstm"] = (t => Flat(Ops.Lstm(t[0], t[1], t[2], t[3], t[4], t[5], RecurrentDirection.Bidirectional)), [Arg.Random(70, -1, 1, 3, 2, 2),
            Arg.Random(71, -0.5, 0.5, 2, 8, 2), Arg.Random(72, -0.5, 0.5, 2, 8, 2), Arg.Random(73, -0.5, 0.5, 2, 16), Arg.Random(74, -1, 1, 2, 2, 2), Arg.Random(75, -1, 1, 2, 2, 2)]),
        ["gru"] = (t => Flat(Ops.Gru(t[0], t[1], t[2], t[3], t[4], RecurrentDirection.Reverse, linearBeforeReset: false)), [Arg.Random(76, -1, 1, 3, 2, 2),
            Arg.Random(77, -0.5, 0.5, 1, 6, 2), Arg.Random(78, -0.5, 0.5, 1, 6, 2), Arg.Random(79, -0.5, 0.5, 1, 12), Arg.Random(80, -1, 1, 1, 2, 2)]),
        ["rnn"] = (t => Flat(Ops.Rnn(t[0], t[1], t[2], t[3], t[4], sequenceLengths: I64(t[0], 3, 1))), [Arg.Random(81, -1, 1, 3, 2, 2),
            Arg.Random(82, -0.5, 0.5, 1, 3, 2), Arg.Random(83, -0.5, 0.5, 1, 3, 3), Arg.Random(84, -0.5, 0.5, 1, 6), Arg.Random(85, -1, 1, 1, 2, 3)]),
        ["batch_norm"] = (t => Ops.BatchNorm(t[0], t[1], t[2], null, null, training: true), [Arg.Random(48, -1, 1, 3, 2), Arg.Random(49, 0.5, 1.5, 2), Arg.Random(50, -1, 1, 2)]),
        ["layer_norm"] = (t => Ops.LayerNorm(t[0], 1, t[1], t[2]), [Arg.Random(51, -1, 1, 2, 3), Arg.Random(52, 0.5, 1.5, 3), Arg.Random(53, -1, 1, 3)]),
        ["dropout"] = (t => Ops.DropoutWithMask(t[0], 0.5, 1234UL).Output, [Arg.Random(54, -1, 1, 4, 4)]),
        ["cos"] = (t => Ops.Cos(t[0]), [Arg.Random(70, -3, 3, 4)]),
        ["sin"] = (t => Ops.Sin(t[0]), [Arg.Random(71, -3, 3, 4)]),
        ["tan"] = (t => Ops.Tan(t[0]), [Arg.Random(72, -1.2, 1.2, 4)]),
        ["asin"] = (t => Ops.Asin(t[0]), [Arg.Random(73, -0.9, 0.9, 4)]),
        ["acos"] = (t => Ops.Acos(t[0]), [Arg.Random(74, -0.9, 0.9, 4)]),
        ["atan"] = (t => Ops.Atan(t[0]), [Arg.Random(75, -3, 3, 4)]),
        ["sinh"] = (t => Ops.Sinh(t[0]), [Arg.Random(76, -2, 2, 4)]),
        ["cosh"] = (t => Ops.Cosh(t[0]), [Arg.Random(77, -2, 2, 4)]),
        ["asinh"] = (t => Ops.Asinh(t[0]), [Arg.Random(78, -3, 3, 4)]),
        ["acosh"] = (t => Ops.Acosh(t[0]), [Arg.Random(79, 1.2, 3, 4)]),
        ["atanh"] = (t => Ops.Atanh(t[0]), [Arg.Random(80, -0.9, 0.9, 4)]),
        // Away from the jumps of floor(a/b) and trunc(a/b).
        ["remainder"] = (t => Ops.Remainder(t[0], t[1]), [Arg.Of([4], [2.3, -2.3, 5.6, -0.4]), Arg.Of([4], [1.5, 1.5, -2.5, -1.5])]),
        ["fmod"] = (t => Ops.Fmod(t[0], t[1]), [Arg.Of([4], [2.3, -2.3, 5.6, -0.4]), Arg.Of([4], [1.5, 1.5, -2.5, -1.5])]),
        ["prod"] = (t => Ops.Prod(t[0], [1]), [Arg.Random(81, 0.5, 1.5, 2, 3)]),
        // The straight-through estimator: with a scale far below the finite-difference step the staircase has slope 1 inside
        // the quantized range ([-0.5, 0.5] here) and 0 where clamped, which is what the rule claims.
        ["fake_quantize"] = (t => Ops.FakeQuantize(t[0], 1e-12, 0, -500_000_000_000, 500_000_000_000), [Arg.Of([5], [-0.9, -0.3, 0.05, 0.45, 0.7])]),
        ["cumsum"] = (t => Ops.CumSum(t[0], 1, exclusive: true, reverse: true), [Arg.Random(82, -1, 1, 2, 4)]),
    };
}
