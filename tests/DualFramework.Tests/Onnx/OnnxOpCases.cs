using DualFramework.Losses;
using DualFramework.Operators;

namespace DualFramework.Tests.Onnx;

/// <summary>How a case's ONNX outputs are checked.</summary>
internal enum CaseKind
{
    /// <summary>Every output against the eager torch result (values within tolerance).</summary>
    Compare,
    /// <summary>Random creation op: shape/dtype/range and seed determinism only (the RNGs differ).</summary>
    Random,
    /// <summary>Dropout: y = x·mask/(1 − p) with ORT's own mask.</summary>
    Dropout,
}

/// <summary>One op application to lower and check.</summary>
internal sealed record OpCase(string Name, Op Op, OpAttrs Attrs, Func<Tensor[]> Inputs, int[]? Constants = null, double Rtol = 1e-5, double Atol = 1e-6,
    CaseKind Kind = CaseKind.Compare)
{
    public override string ToString() => Name;
}

/// <summary>The per-op cases (small seeded inputs); every op of <see cref="OpRegistry.All"/> has at least one.</summary>
internal static class OnnxOpCases
{
    private static Tensor F(int seed, double lo, double hi, params long[] shape)
    {
        var r = new Random(seed);
        var n = new Shape(shape).NumElements;
        var data = new float[n];
        for (long i = 0; i < n; i++) data[i] = (float)(lo + (hi - lo) * r.NextDouble());
        return Tensor.FromArray(data, new Shape(shape));
    }

    private static Tensor D(int seed, double lo, double hi, params long[] shape)
    {
        var r = new Random(seed);
        var n = new Shape(shape).NumElements;
        var data = new double[n];
        for (long i = 0; i < n; i++) data[i] = lo + (hi - lo) * r.NextDouble();
        return Tensor.FromArray(data, new Shape(shape));
    }

    /// <summary>Small whole numbers as float32 (so comparisons have ties).</summary>
    private static Tensor Whole(int seed, params long[] shape)
    {
        var r = new Random(seed);
        var data = new float[new Shape(shape).NumElements];
        for (int i = 0; i < data.Length; i++) data[i] = r.Next(-2, 3);
        return Tensor.FromArray(data, new Shape(shape));
    }

    private static Tensor I64(long[] values, params long[] shape) => Tensor.FromArray(values, new Shape(shape));

    private static Tensor I32(int[] values, params long[] shape) => Tensor.FromArray(values, new Shape(shape));

    private static Tensor Bools(int seed, params long[] shape)
    {
        var r = new Random(seed);
        var data = new bool[new Shape(shape).NumElements];
        for (int i = 0; i < data.Length; i++) data[i] = r.Next(2) == 1;
        return Tensor.FromArray(data, new Shape(shape));
    }

    private static Tensor Ints(int seed, int lo, int hi, DType dt, params long[] shape)
    {
        var r = new Random(seed);
        var data = new long[new Shape(shape).NumElements];
        for (int i = 0; i < data.Length; i++) data[i] = r.Next(lo, hi);
        var t = Tensor.FromArray(data, new Shape(shape));
        return dt == DType.Int64 ? t : DualFramework.Ops.Cast(t, dt);
    }

    private static Tensor Cast(Tensor t, DType dt) => DualFramework.Ops.Cast(t, dt);

    private static readonly OpAttrs None = OpAttrs.None;

    public static IReadOnlyList<OpCase> All { get; } = Build();

    private static List<OpCase> Build()
    {
        var c = new List<OpCase>();
        void Add(string name, Op op, OpAttrs attrs, Func<Tensor[]> inputs, int[]? constants = null, double rtol = 1e-5, double atol = 1e-6, CaseKind kind = CaseKind.Compare) =>
            c.Add(new OpCase(name, op, attrs, inputs, constants, rtol, atol, kind));

        // Elementwise unary.
        Add("neg", OpSet.Neg, None, () => [F(1, -2, 2, 2, 3)]);
        Add("neg_int32", OpSet.Neg, None, () => [Ints(2, -5, 5, DType.Int32, 2, 3)]);
        Add("neg_int8", OpSet.Neg, None, () => [Ints(2, -5, 5, DType.Int8, 2, 3)]);
        Add("abs", OpSet.Abs, None, () => [F(3, -2, 2, 2, 3)]);
        Add("abs_int64", OpSet.Abs, None, () => [Ints(4, -5, 5, DType.Int64, 5)]);
        Add("sign", OpSet.Sign, None, () => [Whole(5, 2, 4)]);
        Add("exp", OpSet.Exp, None, () => [F(6, -2, 2, 2, 3)]);
        Add("log", OpSet.Log, None, () => [F(7, 0.1, 3, 2, 3)]);
        Add("sqrt", OpSet.Sqrt, None, () => [F(8, 0.1, 3, 2, 3)]);
        Add("rsqrt", OpSet.Rsqrt, None, () => [F(9, 0.1, 3, 2, 3)]);
        Add("tanh", OpSet.Tanh, None, () => [F(10, -2, 2, 2, 3)]);
        Add("sigmoid", OpSet.Sigmoid, None, () => [F(11, -4, 4, 2, 3)]);
        Add("erf", OpSet.Erf, None, () => [F(12, -2, 2, 2, 3)]);
        Add("tanh_float64", OpSet.Tanh, None, () => [D(12, -2, 2, 2, 3)]);
        Add("gelu_float64", OpSet.Gelu, new GeluAttrs(GeluApproximation.Tanh), () => [D(13, -3, 3, 2, 3)]);
        Add("relu", OpSet.Relu, None, () => [F(13, -2, 2, 2, 3)]);
        Add("relu_int64", OpSet.Relu, None, () => [Ints(14, -5, 5, DType.Int64, 6)]);
        Add("leaky_relu", OpSet.LeakyRelu, new LeakyReluAttrs(0.1), () => [F(15, -2, 2, 2, 3)]);
        Add("gelu", OpSet.Gelu, new GeluAttrs(GeluApproximation.None), () => [F(16, -3, 3, 2, 4)]);
        Add("gelu_tanh", OpSet.Gelu, new GeluAttrs(GeluApproximation.Tanh), () => [F(17, -3, 3, 2, 4)]);
        Add("softplus", OpSet.Softplus, new SoftplusAttrs(1, 20), () => [F(18, -3, 3, 2, 4)]);
        Add("softplus_beta_threshold", OpSet.Softplus, new SoftplusAttrs(2, 3), () => [F(19, -3, 3, 3, 4)]);
        Add("clamp", OpSet.Clamp, new ClampAttrs(-0.5, 0.7), () => [F(20, -2, 2, 2, 4)]);
        Add("clamp_min_only", OpSet.Clamp, new ClampAttrs(-0.2, double.PositiveInfinity), () => [F(21, -2, 2, 2, 4)]);
        Add("clamp_max_only", OpSet.Clamp, new ClampAttrs(double.NegativeInfinity, 0.3), () => [F(22, -2, 2, 2, 4)]);
        Add("clamp_unbounded", OpSet.Clamp, new ClampAttrs(double.NegativeInfinity, double.PositiveInfinity), () => [F(23, -2, 2, 2, 4)]);
        Add("clamp_int32", OpSet.Clamp, new ClampAttrs(-1.5, 2.5), () => [Ints(24, -5, 5, DType.Int32, 2, 4)]);
        Add("logical_not", OpSet.LogicalNot, None, () => [Bools(25, 2, 3)]);
        Add("stop_gradient", OpSet.StopGradient, None, () => [F(26, -2, 2, 2, 3)]);
        Add("cast_f32_i64", OpSet.Cast, new CastAttrs(DType.Int64), () => [F(27, -5, 5, 2, 4)]);
        Add("cast_f32_i32", OpSet.Cast, new CastAttrs(DType.Int32), () => [F(28, -5, 5, 2, 4)]);
        Add("cast_f32_bool", OpSet.Cast, new CastAttrs(DType.Bool), () => [Whole(29, 2, 4)]);
        Add("cast_bool_f32", OpSet.Cast, new CastAttrs(DType.Float32), () => [Bools(30, 2, 4)]);
        Add("cast_i64_f64", OpSet.Cast, new CastAttrs(DType.Float64), () => [Ints(31, -9, 9, DType.Int64, 5)]);
        Add("cast_f32_f16", OpSet.Cast, new CastAttrs(DType.Float16), () => [F(32, -2, 2, 2, 3)]);
        Add("cast_f32_bf16", OpSet.Cast, new CastAttrs(DType.BFloat16), () => [F(33, -2, 2, 2, 3)]);
        Add("cast_same", OpSet.Cast, new CastAttrs(DType.Float32), () => [F(34, -2, 2, 3)]);

        // Math ops.
        Add("cos", OpSet.Cos, None, () => [F(400, -3, 3, 2, 3)]);
        Add("cos_float64", OpSet.Cos, None, () => [D(401, -3, 3, 2, 3)]);
        Add("sin", OpSet.Sin, None, () => [F(402, -3, 3, 2, 3)]);
        Add("sin_float16", OpSet.Sin, None, () => [Cast(F(403, -3, 3, 2, 3), DType.Float16)], rtol: 1e-3, atol: 1e-3);
        Add("tan", OpSet.Tan, None, () => [F(404, -1.2, 1.2, 2, 3)]);
        Add("tan_float64", OpSet.Tan, None, () => [D(405, -1.2, 1.2, 2, 3)]);
        Add("asin", OpSet.Asin, None, () => [F(406, -1, 1, 2, 3)]);
        Add("acos", OpSet.Acos, None, () => [F(407, -1, 1, 2, 3)]);
        Add("acos_float64", OpSet.Acos, None, () => [D(408, -1, 1, 2, 3)]);
        Add("atan", OpSet.Atan, None, () => [F(409, -3, 3, 2, 3)]);
        Add("sinh", OpSet.Sinh, None, () => [F(410, -2, 2, 2, 3)]);
        Add("cosh", OpSet.Cosh, None, () => [F(411, -2, 2, 2, 3)]);
        Add("asinh", OpSet.Asinh, None, () => [F(412, -3, 3, 2, 3)]);
        Add("acosh", OpSet.Acosh, None, () => [F(413, 1, 4, 2, 3)]);
        Add("atanh", OpSet.Atanh, None, () => [F(414, -0.9, 0.9, 2, 3)]);
        Add("atanh_float64", OpSet.Atanh, None, () => [D(415, -0.9, 0.9, 2, 3)]);
        Add("sin_float64", OpSet.Sin, None, () => [D(440, -3, 3, 2, 3)]);
        Add("asin_float64", OpSet.Asin, None, () => [D(441, -1, 1, 2, 3)]);
        Add("atan_float64", OpSet.Atan, None, () => [D(442, -3, 3, 2, 3)]);
        Add("sinh_float64", OpSet.Sinh, None, () => [D(443, -2, 2, 2, 3)]);
        Add("cosh_float64", OpSet.Cosh, None, () => [D(444, -2, 2, 2, 3)]);
        Add("asinh_float64", OpSet.Asinh, None, () => [D(445, -3, 3, 2, 3)]);
        Add("acosh_float64", OpSet.Acosh, None, () => [D(446, 1, 4, 2, 3)]);
        Add("floor_float64", OpSet.Floor, None, () => [D(447, -3, 3, 2, 3)]);
        Add("round_float64", OpSet.Round, None, () => [D(448, -3, 3, 2, 3)]);
        Add("floor", OpSet.Floor, None, () => [F(416, -3, 3, 2, 4)]);
        Add("ceil", OpSet.Ceil, None, () => [F(417, -3, 3, 2, 4)]);
        Add("ceil_float64", OpSet.Ceil, None, () => [D(418, -3, 3, 2, 4)]);
        Add("round_halves", OpSet.Round, None, () => [Tensor.FromArray(new float[] { -2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 0.4f, -0.6f }, new Shape(8))]);
        Add("remainder", OpSet.Remainder, None, () => [F(419, -5, 5, 2, 3), F(420, 0.5, 2, 3)]);
        Add("remainder_negative_divisor", OpSet.Remainder, None, () => [F(421, -5, 5, 2, 3), F(422, -2, -0.5, 2, 3)]);
        Add("remainder_int64", OpSet.Remainder, None, () => [I64([7, -7, 7, -7, 0, 9], 6), I64([3, 3, -3, -3, 4, 9], 6)]);
        Add("remainder_int8", OpSet.Remainder, None, () => [Ints(423, -100, 100, DType.Int8, 2, 3), Ints(424, 1, 9, DType.Int8, 3)]);
        Add("fmod", OpSet.Fmod, None, () => [F(425, -5, 5, 2, 3), F(426, -2, -0.5, 2, 3)]);
        Add("fmod_int32", OpSet.Fmod, None, () => [I32([7, -7, 7, -7, 0, 9], 6), I32([3, 3, -3, -3, 4, 9], 6)]);
        Add("prod_axis", OpSet.Prod, new ReduceAttrs([1], false), () => [F(427, 0.5, 1.5, 2, 3, 4)]);
        Add("prod_all_keepdims", OpSet.Prod, new ReduceAttrs([], true), () => [F(428, 0.5, 1.5, 2, 3)]);
        Add("prod_int32_axes", OpSet.Prod, new ReduceAttrs([0, 2], false), () => [Ints(429, -3, 4, DType.Int32, 2, 3, 2)]);
        Add("prod_float16", OpSet.Prod, new ReduceAttrs([1], true), () => [Cast(F(430, 0.5, 1.5, 2, 3), DType.Float16)], rtol: 1e-3, atol: 1e-3);
        Add("cumsum", OpSet.CumSum, new CumSumAttrs(1, false, false), () => [F(431, -2, 2, 2, 4)]);
        Add("cumsum_exclusive_reverse", OpSet.CumSum, new CumSumAttrs(0, true, true), () => [F(432, -2, 2, 3, 2)]);
        Add("cumsum_int64_exclusive", OpSet.CumSum, new CumSumAttrs(1, true, false), () => [Ints(433, -9, 9, DType.Int64, 2, 5)]);
        Add("cumsum_int32_reverse", OpSet.CumSum, new CumSumAttrs(0, false, true), () => [Ints(434, -9, 9, DType.Int32, 4)]);

        // Elementwise binary (with broadcasting) and where.
        Add("add", OpSet.Add, None, () => [F(40, -2, 2, 2, 3), F(41, -2, 2, 3)]);
        Add("add_int8", OpSet.Add, None, () => [Ints(42, -100, 100, DType.Int8, 2, 3), Ints(43, -100, 100, DType.Int8, 2, 3)]);
        Add("add_float16", OpSet.Add, None, () => [Cast(F(44, -2, 2, 2, 3), DType.Float16), Cast(F(45, -2, 2, 2, 3), DType.Float16)], rtol: 1e-3, atol: 1e-3);
        Add("sub", OpSet.Sub, None, () => [F(46, -2, 2, 2, 3), F(47, -2, 2, 2, 1)]);
        Add("sub_int64", OpSet.Sub, None, () => [Ints(48, -9, 9, DType.Int64, 2, 3), Ints(49, -9, 9, DType.Int64, 3)]);
        Add("mul", OpSet.Mul, None, () => [F(50, -2, 2, 2, 3), F(51, -2, 2, 2, 3)]);
        Add("div", OpSet.Div, None, () => [F(52, -2, 2, 2, 3), F(53, 0.5, 2, 3)]);
        Add("pow", OpSet.Pow, None, () => [F(54, 0.1, 2, 2, 3), F(55, -2, 2, 2, 3)]);
        Add("maximum", OpSet.Maximum, None, () => [F(56, -2, 2, 2, 3), F(57, -2, 2, 3)]);
        Add("minimum", OpSet.Minimum, None, () => [F(58, -2, 2, 2, 3), F(59, -2, 2, 2, 3)]);
        Add("equal", OpSet.Equal, None, () => [Whole(60, 3, 4), Whole(61, 3, 4)]);
        Add("equal_bool", OpSet.Equal, None, () => [Bools(62, 3, 4), Bools(63, 3, 4)]);
        Add("not_equal", OpSet.NotEqual, None, () => [Whole(64, 3, 4), Whole(65, 4)]);
        Add("less", OpSet.Less, None, () => [Whole(66, 3, 4), Whole(67, 3, 4)]);
        Add("less_equal", OpSet.LessEqual, None, () => [Whole(68, 3, 4), Whole(69, 3, 4)]);
        Add("greater", OpSet.Greater, None, () => [Whole(70, 3, 4), Whole(71, 3, 4)]);
        Add("greater_equal", OpSet.GreaterEqual, None, () => [Whole(72, 3, 4), Whole(73, 3, 1)]);
        Add("greater_int64", OpSet.Greater, None, () => [Ints(74, -3, 3, DType.Int64, 3, 4), Ints(75, -3, 3, DType.Int64, 3, 4)]);
        Add("logical_and", OpSet.LogicalAnd, None, () => [Bools(76, 3, 4), Bools(77, 3, 4)]);
        Add("logical_or", OpSet.LogicalOr, None, () => [Bools(78, 3, 4), Bools(79, 4)]);
        Add("logical_xor", OpSet.LogicalXor, None, () => [Bools(80, 3, 4), Bools(81, 3, 4)]);
        Add("where", OpSet.Where, None, () => [Bools(82, 2, 3), F(83, -2, 2, 2, 3), F(84, -2, 2, 1, 3)]);

        // Reductions, arg reductions, softmax.
        Add("sum_axis", OpSet.Sum, new ReduceAttrs([1], false), () => [F(90, -2, 2, 2, 3, 4)]);
        Add("sum_all", OpSet.Sum, new ReduceAttrs([], false), () => [F(91, -2, 2, 2, 3, 4)]);
        Add("sum_keepdims", OpSet.Sum, new ReduceAttrs([0, 2], true), () => [F(92, -2, 2, 2, 3, 4)]);
        Add("sum_int32_to_int64", OpSet.Sum, new ReduceAttrs([1], false), () => [Ints(93, -50, 50, DType.Int32, 3, 4)]);
        Add("sum_int8_to_int64", OpSet.Sum, new ReduceAttrs([], false), () => [Ints(94, -100, 100, DType.Int8, 3, 4)]);
        Add("sum_uint8_to_int64", OpSet.Sum, new ReduceAttrs([0], true), () => [Ints(95, 0, 250, DType.UInt8, 3, 4)]);
        Add("mean_axes", OpSet.Mean, new ReduceAttrs([0, 2], true), () => [F(96, -2, 2, 2, 3, 4)]);
        Add("mean_all", OpSet.Mean, new ReduceAttrs([], false), () => [F(97, -2, 2, 2, 3, 4)]);
        Add("max_axis", OpSet.Max, new ReduceAttrs([1], false), () => [F(98, -2, 2, 2, 3, 4)]);
        Add("max_int64_all", OpSet.Max, new ReduceAttrs([], false), () => [Ints(99, -9, 9, DType.Int64, 3, 4)]);
        Add("min_keepdims", OpSet.Min, new ReduceAttrs([2], true), () => [F(100, -2, 2, 2, 3, 4)]);
        Add("min_all", OpSet.Min, new ReduceAttrs([], true), () => [F(101, -2, 2, 2, 3)]);
        Add("argmax_axis", OpSet.ArgMax, new ArgReduceAttrs(1, false), () => [F(102, -2, 2, 2, 5, 3)]);
        Add("argmax_ties", OpSet.ArgMax, new ArgReduceAttrs(1, true), () => [Whole(103, 4, 6)]);
        Add("argmax_flat", OpSet.ArgMax, new ArgReduceAttrs(null, false), () => [F(104, -2, 2, 3, 4)]);
        Add("argmax_flat_keepdims", OpSet.ArgMax, new ArgReduceAttrs(null, true), () => [F(105, -2, 2, 3, 4)]);
        Add("argmin_axis_keepdims", OpSet.ArgMin, new ArgReduceAttrs(0, true), () => [F(106, -2, 2, 4, 3)]);
        Add("argmin_flat_int32", OpSet.ArgMin, new ArgReduceAttrs(null, false), () => [Ints(107, -9, 9, DType.Int32, 3, 4)]);
        Add("softmax", OpSet.Softmax, new SoftmaxAttrs(1), () => [F(108, -3, 3, 2, 3, 4)]);
        Add("softmax_axis0", OpSet.Softmax, new SoftmaxAttrs(0), () => [F(109, -3, 3, 3, 4)]);
        Add("log_softmax", OpSet.LogSoftmax, new SoftmaxAttrs(2), () => [F(110, -3, 3, 2, 3, 4)]);
        Add("log_softmax_axis1", OpSet.LogSoftmax, new SoftmaxAttrs(1), () => [F(111, -3, 3, 2, 3, 4)]);

        // Shape ops.
        Add("reshape", OpSet.Reshape, new ShapeAttrs([6, 4]), () => [F(120, -2, 2, 2, 3, 4)]);
        Add("reshape_keep_leading", OpSet.Reshape, new ShapeAttrs([2, -1]), () => [F(121, -2, 2, 2, 3, 4)]);
        Add("reshape_scalar", OpSet.Reshape, new ShapeAttrs([]), () => [F(122, -2, 2, 1, 1)]);
        Add("reshape_empty", OpSet.Reshape, new ShapeAttrs([3, 0]), () => [F(123, -2, 2, 0, 3)]);
        Add("broadcast_to", OpSet.BroadcastTo, new ShapeAttrs([2, 3, 4]), () => [F(124, -2, 2, 3, 1)]);
        Add("broadcast_to_same_rank", OpSet.BroadcastTo, new ShapeAttrs([2, 3]), () => [F(125, -2, 2, 1, 3)]);
        Add("permute", OpSet.Permute, new PermuteAttrs([2, 0, 1]), () => [F(126, -2, 2, 2, 3, 4)]);
        Add("concat", OpSet.Concat, new ConcatAttrs(1), () => [F(127, -2, 2, 2, 1), F(128, -2, 2, 2, 3), F(129, -2, 2, 2, 2)]);
        Add("concat_bool", OpSet.Concat, new ConcatAttrs(0), () => [Bools(130, 2, 2), Bools(131, 1, 2)]);
        Add("split", OpSet.Split, new SplitAttrs(1, [1, 3, 1]), () => [F(132, -2, 2, 2, 5)]);
        Add("split_single", OpSet.Split, new SplitAttrs(0, [3]), () => [F(133, -2, 2, 3, 2)]);
        Add("slice", OpSet.Slice, new SliceAttrs([0, 2], [1, 0], [2, 4], [1, 2]), () => [F(134, -2, 2, 3, 3, 4)]);
        Add("slice_step3", OpSet.Slice, new SliceAttrs([1], [1], [7], [3]), () => [F(135, -2, 2, 2, 8)]);
        Add("slice_none", OpSet.Slice, new SliceAttrs([], [], [], []), () => [F(136, -2, 2, 2, 3)]);
        Add("slice_scatter", OpSet.SliceScatter, new SliceAttrs([0, 2], [1, 0], [3, 4], [1, 2]), () => [F(137, -2, 2, 3, 3, 4), F(138, -2, 2, 2, 3, 2)]);
        Add("slice_scatter_step3", OpSet.SliceScatter, new SliceAttrs([1], [1], [8], [3]), () => [F(139, -2, 2, 2, 8), F(140, -2, 2, 2, 3)]);
        Add("slice_scatter_int64", OpSet.SliceScatter, new SliceAttrs([0], [0], [1], [1]), () => [Ints(141, -9, 9, DType.Int64, 2, 3), Ints(142, -9, 9, DType.Int64, 1, 3)]);

        // Indexing.
        Add("take", OpSet.Take, new TakeAttrs(0), () => [F(150, -2, 2, 4, 3), I64([0, -1, 2, 2], 2, 2)]);
        Add("take_int32_axis1", OpSet.Take, new TakeAttrs(1), () => [F(151, -2, 2, 2, 4, 3), I32([3, 0, -2], 3)]);
        Add("take_constant_indices", OpSet.Take, new TakeAttrs(0), () => [F(152, -2, 2, 5, 2), I64([4, 1], 2)], constants: [1]);
        Add("gather_elements", OpSet.GatherElements, new IndexAxisAttrs(1), () => [F(153, -2, 2, 3, 4), I64([0, 3, 1, 2, 2, 0, 1, 1, 3], 3, 3)]);
        Add("gather_elements_smaller", OpSet.GatherElements, new IndexAxisAttrs(0), () => [F(154, -2, 2, 3, 4), I64([2, 0, 1, 1, 0, 2], 2, 3)]);
        Add("scatter_add", OpSet.ScatterAdd, new IndexAxisAttrs(1), () => [F(155, -2, 2, 3, 4), I64([0, 3, 0, 2, 2, 1], 2, 3), F(156, -2, 2, 3, 3)]);
        Add("scatter_add_axis0", OpSet.ScatterAdd, new IndexAxisAttrs(0), () => [F(157, -2, 2, 3, 2), I64([2, 0, 2, 2], 2, 2), F(158, -2, 2, 2, 2)]);
        // Padding: ONNX Pad for constant (negative amounts cropped by a Slice first), edge and short reflections; a Gather
        // per axis for wrap, cropping edge/reflect pads and reflections longer than the axis.
        Add("pad_constant", OpSet.Pad, new PadAttrs([0, 1, 2], [1, -1, 0], PadMode.Constant, 0.5), () => [F(160, -2, 2, 2, 3, 2)]);
        Add("pad_constant_int64", OpSet.Pad, new PadAttrs([2, 0], [0, 1], PadMode.Constant, -3), () => [Ints(161, -9, 9, DType.Int64, 2, 3)]);
        Add("pad_reflect", OpSet.Pad, new PadAttrs([0, 0, 1, 2], [0, 0, 2, 1], PadMode.Reflect, 0), () => [F(162, -2, 2, 1, 2, 3, 4)]);
        Add("pad_reflect_long", OpSet.Pad, new PadAttrs([0, 5], [0, 4], PadMode.Reflect, 0), () => [F(163, -2, 2, 2, 3)]);
        Add("pad_edge", OpSet.Pad, new PadAttrs([1, 3], [2, 0], PadMode.Edge, 0), () => [F(164, -2, 2, 2, 3)]);
        Add("pad_edge_crop", OpSet.Pad, new PadAttrs([-1, 2], [1, -2], PadMode.Edge, 0), () => [F(165, -2, 2, 3, 4)]);
        Add("pad_wrap", OpSet.Pad, new PadAttrs([0, 4], [1, 2], PadMode.Wrap, 0), () => [F(166, -2, 2, 2, 3)]);
        // topk: ONNX TopK (k as an input); uint8 computed in int32. det: ONNX Det for float32, a first-row expansion for
        // float64 up to 4×4, float32 Det beyond.
        Add("topk_largest", OpSet.TopK, new TopKAttrs(2, 1, true, true), () => [F(449, -2, 2, 3, 5)]);
        Add("topk_smallest_axis0_float64", OpSet.TopK, new TopKAttrs(3, 0, false, true), () => [D(450, -2, 2, 4, 3)]);
        Add("topk_uint8", OpSet.TopK, new TopKAttrs(1, 1, true, true), () => [Ints(451, 0, 250, DType.UInt8, 2, 4)]);
        Add("det_float32", OpSet.Det, None, () => [F(452, -2, 2, 2, 3, 3)], rtol: 1e-4, atol: 1e-5);
        Add("det_float64_laplace", OpSet.Det, None, () => [D(453, -2, 2, 3, 4, 4)]);
        Add("det_float64_1x1", OpSet.Det, None, () => [D(454, -2, 2, 2, 1, 1)]);
        Add("det_float64_5x5_in_float32", OpSet.Det, None, () => [D(455, -2, 2, 5, 5)], rtol: 1e-4, atol: 1e-4);
        Add("grid_sample_bilinear", OpSet.GridSample, new GridSampleAttrs(GridSampleMode.Bilinear, GridSamplePadding.Zeros, false), () => [F(170, -2, 2, 2, 3, 4, 5), F(171, -1.3, 1.3, 2, 3, 2, 2)]);
        Add("grid_sample_nearest_border", OpSet.GridSample, new GridSampleAttrs(GridSampleMode.Nearest, GridSamplePadding.Border, true), () => [F(172, -2, 2, 1, 2, 4, 3), F(173, -1.3, 1.3, 1, 2, 5, 2)]);
        Add("grid_sample_bicubic_reflection", OpSet.GridSample, new GridSampleAttrs(GridSampleMode.Bicubic, GridSamplePadding.Reflection, false), () => [F(174, -2, 2, 1, 2, 4, 3), F(175, -1.8, 1.8, 1, 3, 3, 2)]);
        Add("one_hot", OpSet.OneHot, new OneHotAttrs(5, DType.Float32), () => [I64([0, 4, 2, 2, 1, 3], 2, 3)]);
        Add("one_hot_int32_to_int64", OpSet.OneHot, new OneHotAttrs(3, DType.Int64), () => [I32([2, 0, 1, 0], 4)]);
        Add("one_hot_bool", OpSet.OneHot, new OneHotAttrs(4, DType.Bool), () => [I64([3, 1], 2)]);

        // Quantization: x/scale in float32 lands on ties often enough with scales 0.5 and 0.25 and quarter-step inputs.
        Tensor Quarters(int seed, params long[] shape) => DualFramework.Ops.Div(Cast(Ints(seed, -300, 300, DType.Int64, shape), DType.Float32), 4.0);
        Tensor Sc(float v) => Tensor.FromArray(new[] { v }, Shape.Scalar);
        Tensor Vec<T>(params T[] v) where T : unmanaged => Tensor.FromArray(v, new Shape(v.Length));
        Tensor Zp<T>(T v) where T : unmanaged => Tensor.FromArray(new[] { v }, Shape.Scalar);
        Add("quantize_linear_int8", OpSet.QuantizeLinear, new QuantizeAttrs(0), () => [Quarters(250, 4, 5), Sc(0.5f), Zp((sbyte)-3)]);
        Add("quantize_linear_uint8_axis1", OpSet.QuantizeLinear, new QuantizeAttrs(1), () => [Quarters(251, 2, 3, 4), Vec(0.25f, 0.5f, 2f), Vec<byte>(0, 128, 250)]);
        Add("quantize_linear_float64", OpSet.QuantizeLinear, new QuantizeAttrs(0), () => [Cast(Quarters(252, 3, 4), DType.Float64), Cast(Sc(0.25f), DType.Float64), Zp((sbyte)5)]);
        Add("quantize_linear_float16_axis0", OpSet.QuantizeLinear, new QuantizeAttrs(0), () => [Cast(Quarters(253, 2, 4), DType.Float16), Cast(Vec(0.5f, 0.25f), DType.Float16), Vec<byte>(3, 200)]);
        Add("dequantize_linear_int8", OpSet.DequantizeLinear, new QuantizeAttrs(0), () => [Ints(254, -128, 128, DType.Int8, 3, 4), Sc(0.1f), Zp((sbyte)-7)]);
        Add("dequantize_linear_uint8_axis0", OpSet.DequantizeLinear, new QuantizeAttrs(0), () => [Ints(255, 0, 256, DType.UInt8, 3, 2), Vec(0.1f, 0.02f, 3f), Vec<byte>(0, 128, 255)]);
        Add("dequantize_linear_int32", OpSet.DequantizeLinear, new QuantizeAttrs(0), () => [Ints(256, -100000, 100000, DType.Int32, 5), Sc(0.003f), Zp(0)]);
        Add("dequantize_linear_float64_scale", OpSet.DequantizeLinear, new QuantizeAttrs(1), () => [Ints(257, -128, 128, DType.Int8, 2, 2), Cast(Vec(0.1f, 0.7f), DType.Float64), Vec<sbyte>(1, -1)]);
        Add("fake_quantize_int8", OpSet.FakeQuantize, new FakeQuantizeAttrs(-128, 127, 0), () => [Quarters(258, 4, 5), Sc(0.5f), Zp(3L)]);
        Add("fake_quantize_4bit_axis1", OpSet.FakeQuantize, new FakeQuantizeAttrs(0, 15, 1), () => [Quarters(259, 2, 3), Vec(0.5f, 1f, 4f), Vec(8, 0, 15)]);
        Add("fake_quantize_signed_narrow", OpSet.FakeQuantize, new FakeQuantizeAttrs(-8, 7, 0), () => [Quarters(260, 3, 4), Sc(0.25f), Zp(-1)]);
        Add("fake_quantize_int32_range", OpSet.FakeQuantize, new FakeQuantizeAttrs(-1000, 1000, 0), () => [Quarters(261, 3, 4), Sc(0.25f), Zp(10L)]);
        Add("fake_quantize_float64", OpSet.FakeQuantize, new FakeQuantizeAttrs(-128, 127, 0), () => [Cast(Quarters(262, 3, 4), DType.Float64), Cast(Vec(0.5f, 0.25f, 1f), DType.Float64), Vec(0L, -5L, 100L)]);

        // Linear algebra.
        Add("matmul", OpSet.MatMul, None, () => [F(160, -2, 2, 3, 4), F(161, -2, 2, 4, 5)]);
        Add("matmul_batched", OpSet.MatMul, None, () => [F(162, -2, 2, 2, 3, 4), F(163, -2, 2, 1, 4, 5)]);
        Add("matmul_int64", OpSet.MatMul, None, () => [Ints(164, -5, 5, DType.Int64, 2, 3), Ints(165, -5, 5, DType.Int64, 3, 2)]);
        Add("linear_gemm", OpSet.Linear, None, () => [F(166, -2, 2, 3, 4), F(167, -1, 1, 5, 4), F(168, -1, 1, 5)]);
        Add("linear_gemm_nobias", OpSet.Linear, None, () => [F(169, -2, 2, 3, 4), F(170, -1, 1, 5, 4)]);
        Add("linear_3d", OpSet.Linear, None, () => [F(171, -2, 2, 2, 3, 4), F(172, -1, 1, 5, 4), F(173, -1, 1, 5)]);
        Add("linear_1d", OpSet.Linear, None, () => [F(174, -2, 2, 4), F(175, -1, 1, 5, 4)]);

        // Convolution and pooling.
        Add("conv1d_groups_bias", OpSet.Conv, new ConvAttrs([2], [1], [1], 2), () => [F(180, -1, 1, 2, 4, 9), F(181, -1, 1, 6, 2, 3), F(182, -1, 1, 6)]);
        Add("conv2d", OpSet.Conv, new ConvAttrs([2, 1], [1, 0], [1, 2], 1), () => [F(183, -1, 1, 1, 3, 7, 6), F(184, -1, 1, 4, 3, 3, 2)]);
        Add("conv_transpose2d", OpSet.ConvTranspose, new ConvTransposeAttrs([2, 2], [1, 1], [1, 1], [1, 1], 1),
            () => [F(185, -1, 1, 1, 4, 3, 3), F(186, -1, 1, 4, 3, 3, 3), F(187, -1, 1, 3)]);
        Add("conv_transpose1d_groups_dilation", OpSet.ConvTranspose, new ConvTransposeAttrs([3], [2], [1], [2], 2),
            () => [F(188, -1, 1, 2, 4, 5), F(189, -1, 1, 4, 1, 3), F(190, -1, 1, 2)]);
        Add("max_pool2d", OpSet.MaxPool2d, new MaxPool2dAttrs([3, 2], [2, 2], [1, 0], [1, 1], false), () => [F(191, -2, 2, 2, 3, 6, 5)]);
        Add("max_pool2d_tiled", OpSet.MaxPool2d, new MaxPool2dAttrs([2, 3], [2, 3], [0, 0], [1, 1], false), () => [F(198, -2, 2, 2, 3, 6, 9)]);
        Add("max_unpool2d", OpSet.MaxUnpool2d, new MaxUnpool2dAttrs(3, 4), () => [F(199, -2, 2, 2, 1, 2, 2), I64([0, 5, 11, 2, 3, 7, 6, 10], 2, 1, 2, 2)]);
        Add("conv_transpose2d_stride1", OpSet.ConvTranspose, new ConvTransposeAttrs([1, 1], [1, 0], [0, 0], [1, 2], 1),
            () => [F(224, -1, 1, 2, 4, 5, 4), F(225, -1, 1, 4, 3, 3, 2), F(226, -1, 1, 3)]);
        Add("max_pool2d_ceil_dilation", OpSet.MaxPool2d, new MaxPool2dAttrs([2, 2], [2, 2], [1, 1], [2, 1], true), () => [F(192, -2, 2, 2, 2, 7, 6)]);
        Add("avg_pool2d", OpSet.AvgPool2d, new AvgPool2dAttrs([3, 3], [2, 2], [1, 1], true), () => [F(193, -2, 2, 2, 3, 6, 5)]);
        Add("avg_pool2d_exclude_pad", OpSet.AvgPool2d, new AvgPool2dAttrs([3, 2], [2, 1], [1, 1], false), () => [F(194, -2, 2, 1, 2, 6, 5)]);
        Add("conv3d_groups_bias", OpSet.Conv, new ConvAttrs([2, 1, 1], [1, 0, 1], [1, 2, 1], 2), () => [F(900, -1, 1, 1, 4, 5, 5, 4), F(901, -1, 1, 4, 2, 3, 2, 2), F(902, -1, 1, 4)]);
        Add("conv_transpose3d", OpSet.ConvTranspose, new ConvTransposeAttrs([2, 1, 2], [1, 0, 0], [1, 0, 1], [1, 1, 2], 1),
            () => [F(903, -1, 1, 1, 3, 3, 2, 3), F(904, -1, 1, 3, 2, 3, 2, 2), F(905, -1, 1, 2)]);
        Add("max_pool1d", OpSet.MaxPool2d, new MaxPool2dAttrs([3], [2], [1], [1], true), () => [F(906, -2, 2, 2, 3, 8)]);
        Add("max_pool3d", OpSet.MaxPool2d, new MaxPool2dAttrs([2, 3, 2], [2, 2, 1], [1, 1, 0], [1, 1, 2], true), () => [F(907, -2, 2, 2, 2, 6, 6, 5)]);
        Add("max_unpool3d", OpSet.MaxUnpool2d, new MaxUnpool2dAttrs([2, 3, 2]), () => [F(908, -2, 2, 1, 2, 1, 2, 2), I64([0, 5, 11, 2, 3, 7, 6, 10], 1, 2, 1, 2, 2)]);
        Add("avg_pool1d_ceil", OpSet.AvgPool2d, new AvgPool2dAttrs([3], [2], [1], false, true), () => [F(909, -2, 2, 2, 3, 8)]);
        Add("avg_pool2d_ceil_include_pad", OpSet.AvgPool2d, new AvgPool2dAttrs([3, 3], [2, 2], [1, 1], true, true), () => [F(910, -2, 2, 2, 3, 6, 7)]);
        Add("avg_pool3d_exclude_pad", OpSet.AvgPool2d, new AvgPool2dAttrs([3, 2, 3], [2, 2, 2], [1, 1, 1], false), () => [F(911, -2, 2, 2, 2, 5, 4, 6)]);
        Add("adaptive_avg_pool2d_divisible", OpSet.AdaptiveAvgPool2d, new AdaptivePool2dAttrs(3, 2), () => [F(195, -2, 2, 2, 3, 6, 4)]);
        Add("adaptive_avg_pool2d_uneven", OpSet.AdaptiveAvgPool2d, new AdaptivePool2dAttrs(4, 3), () => [F(196, -2, 2, 2, 3, 6, 5)]);
        Add("adaptive_avg_pool2d_global", OpSet.AdaptiveAvgPool2d, new AdaptivePool2dAttrs(1, 1), () => [F(197, -2, 2, 2, 3, 5, 5)]);

        // Normalisation, dropout.
        Add("batch_norm_training", OpSet.BatchNorm, new BatchNormAttrs(true, 1e-5),
            () => [F(200, -2, 2, 4, 3, 2, 2), F(201, 0.5, 1.5, 3), F(202, -1, 1, 3), F(203, -1, 1, 3), F(204, 0.5, 2, 3)]);
        Add("batch_norm_training_2d", OpSet.BatchNorm, new BatchNormAttrs(true, 1e-3),
            () => [F(205, -2, 2, 5, 3), F(206, 0.5, 1.5, 3), F(207, -1, 1, 3), F(208, -1, 1, 3), F(209, 0.5, 2, 3)]);
        Add("batch_norm_inference", OpSet.BatchNorm, new BatchNormAttrs(false, 1e-5),
            () => [F(210, -2, 2, 2, 3, 4), F(211, 0.5, 1.5, 3), F(212, -1, 1, 3), F(213, -1, 1, 3), F(214, 0.5, 2, 3)]);
        Add("layer_norm", OpSet.LayerNorm, new LayerNormAttrs(1, 1e-5, true, true), () => [F(215, -2, 2, 2, 3, 4), F(216, 0.5, 1.5, 4), F(217, -1, 1, 4)]);
        Add("layer_norm_2axes_bias_only", OpSet.LayerNorm, new LayerNormAttrs(2, 1e-3, false, true), () => [F(218, -2, 2, 2, 3, 4), F(219, -1, 1, 3, 4)]);
        Add("layer_norm_weight_only", OpSet.LayerNorm, new LayerNormAttrs(1, 1e-5, true, false), () => [F(220, -2, 2, 3, 5), F(221, 0.5, 1.5, 5)]);

        // Recurrent layers: ONNX LSTM/GRU/RNN (directions, peepholes, sequence lengths, GRU's two reset placements, RNN relu).
        Add("lstm_bidirectional", OpSet.Lstm, new RecurrentAttrs(RecurrentDirection.Bidirectional, 4),
            () => [F(230, -1, 1, 3, 2, 5), F(231, -0.5, 0.5, 2, 16, 5), F(232, -0.5, 0.5, 2, 16, 4), F(233, -0.5, 0.5, 2, 32), F(234, -1, 1, 2, 2, 4), F(235, -1, 1, 2, 2, 4)]);
        Add("lstm_peepholes_sequence_lens", OpSet.Lstm, new RecurrentAttrs(RecurrentDirection.Reverse, 3, HasSequenceLengths: true, HasPeepholes: true),
            () => [F(236, -1, 1, 4, 3, 2), F(237, -0.5, 0.5, 1, 12, 2), F(238, -0.5, 0.5, 1, 12, 3), F(239, -0.5, 0.5, 1, 24), F(240, -1, 1, 1, 3, 3),
                F(241, -1, 1, 1, 3, 3), F(242, -0.5, 0.5, 1, 9), I32([4, 2, 1], 3)]);
        Add("gru_reverse_zero_state", OpSet.Gru, new RecurrentAttrs(RecurrentDirection.Reverse, 4, HasInitialState: false),
            () => [F(243, -1, 1, 3, 2, 5), F(244, -0.5, 0.5, 1, 12, 5), F(245, -0.5, 0.5, 1, 12, 4), F(246, -0.5, 0.5, 1, 24)]);
        Add("gru_linear_before_reset_bidirectional", OpSet.Gru, new RecurrentAttrs(RecurrentDirection.Bidirectional, 3, LinearBeforeReset: true),
            () => [F(248, -1, 1, 3, 2, 4), F(249, -0.5, 0.5, 2, 9, 4), F(250, -0.5, 0.5, 2, 9, 3), F(251, -0.5, 0.5, 2, 18), F(252, -1, 1, 2, 2, 3)]);
        Add("rnn_relu_sequence_lens", OpSet.Rnn, new RecurrentAttrs(RecurrentDirection.Bidirectional, 4, RnnActivation.Relu, HasSequenceLengths: true),
            () => [F(253, -1, 1, 3, 2, 5), F(254, -0.5, 0.5, 2, 4, 5), F(255, -0.5, 0.5, 2, 4, 4), F(256, -0.5, 0.5, 2, 8), F(257, -1, 1, 2, 2, 4), I64([2, 3], 2)]);
        Add("layer_norm_plain", OpSet.LayerNorm, new LayerNormAttrs(3, 1e-5, false, false), () => [F(222, -2, 2, 2, 3, 4)]);
        Add("dropout", OpSet.Dropout, new DropoutAttrs(0.3, 42), () => [F(223, -2, 2, 40, 50)], kind: CaseKind.Dropout);
        Add("dropout_p0", OpSet.Dropout, new DropoutAttrs(0, 7), () => [F(224, -2, 2, 4, 5)], kind: CaseKind.Dropout);
        Add("dropout_p1", OpSet.Dropout, new DropoutAttrs(1, 7), () => [F(225, -2, 2, 4, 5)], kind: CaseKind.Dropout);

        // Creation and random.
        Add("full", OpSet.Full, new FullAttrs([2, 3], 2.5, DType.Float32), () => []);
        Add("full_int64_truncates", OpSet.Full, new FullAttrs([4], -7.9, DType.Int64), () => []);
        Add("full_bool_scalar", OpSet.Full, new FullAttrs([], 3, DType.Bool), () => []);
        Add("full_bf16", OpSet.Full, new FullAttrs([2], 1.5, DType.BFloat16), () => []);
        Add("arange_int64", OpSet.Arange, new ArangeAttrs(0, 5, 1, DType.Int64), () => []);
        Add("arange_float", OpSet.Arange, new ArangeAttrs(-1, 1, 0.3, DType.Float32), () => []);
        Add("arange_int32_down", OpSet.Arange, new ArangeAttrs(5, -3, -2, DType.Int32), () => []);
        Add("arange_float64", OpSet.Arange, new ArangeAttrs(0.5, 3.7, 0.25, DType.Float64), () => []);
        Add("arange_empty", OpSet.Arange, new ArangeAttrs(3, 1, 1, DType.Float32), () => []);
        Add("eye", OpSet.Eye, new EyeAttrs(3, 4, DType.Float32), () => []);
        Add("eye_bool", OpSet.Eye, new EyeAttrs(2, 2, DType.Bool), () => []);
        Add("eye_int64_tall", OpSet.Eye, new EyeAttrs(4, 2, DType.Int64), () => []);
        Add("random_uniform", OpSet.RandomUniform, new RandomUniformAttrs([50, 40], -2, 3, DType.Float32, 1234), () => [], kind: CaseKind.Random);
        Add("random_uniform_f64", OpSet.RandomUniform, new RandomUniformAttrs([30, 20], 0, 1, DType.Float64, 99), () => [], kind: CaseKind.Random);
        Add("random_normal", OpSet.RandomNormal, new RandomNormalAttrs([50, 40], 1, 2, DType.Float32, 777), () => [], kind: CaseKind.Random);
        Add("random_normal_f16", OpSet.RandomNormal, new RandomNormalAttrs([20, 20], 0, 1, DType.Float16, 5), () => [], kind: CaseKind.Random);

        // Losses and optimisers.
        Tensor[] Ce(int seed, bool weights) =>
        [
            F(seed, -2, 2, 6, 4), I64([0, 3, -100, 1, 3, 2], 6),
            .. weights ? new[] { F(seed + 1, 0.5, 2, 4) } : [],
        ];
        foreach (var red in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
        {
            var r = red.ToString().ToLowerInvariant();
            Add($"cross_entropy_{r}", OpSet.CrossEntropy, new CrossEntropyAttrs(-100, 0, red), () => Ce(230, false));
            Add($"cross_entropy_{r}_weighted", OpSet.CrossEntropy, new CrossEntropyAttrs(-100, 0, red), () => Ce(232, true));
            Add($"cross_entropy_{r}_smoothing", OpSet.CrossEntropy, new CrossEntropyAttrs(-100, 0.1, red), () => Ce(234, false));
            Add($"cross_entropy_{r}_smoothing_weighted", OpSet.CrossEntropy, new CrossEntropyAttrs(-100, 0.2, red), () => Ce(236, true));
        }
        Add("cross_entropy_ignore_index_3", OpSet.CrossEntropy, new CrossEntropyAttrs(3, 0.1, Reduction.Mean), () => [F(238, -2, 2, 6, 4), I64([0, 3, 2, 1, 3, 2], 6)]);
        Add("adam_update", OpSet.AdamUpdate, new AdamUpdateAttrs(0.01, 0.9, 0.999, Math.Sqrt(1 - Math.Pow(0.999, 3)), 1e-8),
            () => [F(240, -1, 1, 2, 3), F(241, -1, 1, 2, 3), F(242, -0.1, 0.1, 2, 3), F(243, 0.001, 0.01, 2, 3)]);
        return c;
    }
}
