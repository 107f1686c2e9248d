using DualFramework.MixedPrecision;
using static DualFramework.Operators.OpSet;

namespace DualFramework.Operators;

/// <summary>
/// The autocast category of every op of the op set, in one table so that it reads against PyTorch's CPU lists
/// (aten/src/ATen/autocast_mode.cpp, AutocastCPU): docs/precision.md gives the comparison and each difference's reason.
/// An op missing here is Undeclared and fails PolicyTests.Every_op_of_the_op_set_declares_an_autocast_category.
/// </summary>
internal static class OpAutocast
{
    private static Dictionary<Op, AutocastCategory>? _autocast;

    internal static AutocastCategory Of(Op op)
    {
        var table = _autocast ??= BuildAutocastTable();
        return table.TryGetValue(op, out var c) ? c : AutocastCategory.Undeclared;
    }

    private static Dictionary<Op, AutocastCategory> BuildAutocastTable()
    {
        var t = new Dictionary<Op, AutocastCategory>(ReferenceEqualityComparer.Instance);
        void Set(AutocastCategory c, params Op[] ops)
        {
            foreach (var op in ops) t.Add(op, c);
        }

        // Matrix products and convolutions: PyTorch's CPU lower_precision_fp list (mm, bmm, matmul, linear, addmm, conv*,
        // conv_transpose*). Their kernels accumulate in float32 and gain most from bf16/fp16 arithmetic.
        Set(AutocastCategory.LowerPrecision, MatMul, Linear, Conv, ConvTranspose);

        // float32: losses, prod and max_unpool2d as in PyTorch's CPU fp32 list; softmax, log_softmax, the norms, the
        // accumulating reductions and the range-sensitive math functions as in its CUDA fp32 list (CPU autocast leaves them
        // to the operand dtype; we keep one rule for both backends and for the graph backend, whose CPU provider lacks
        // most low-precision kernels anyway).
        Set(AutocastCategory.Float32, CrossEntropy, Prod, MaxUnpool2d,
            Softmax, LogSoftmax, BatchNorm, LayerNorm, Sum, Mean, CumSum,
            Exp, Log, Pow, Rsqrt, Softplus, Tan, Asin, Acos, Sinh, Cosh);
        // fake_quantize as in PyTorch's CPU fp32 list (fake_quantize_per_tensor_affine / per_channel_affine): the quantization
        // grid must be resolved in float32, not on a bf16/fp16 grid coarser than the scale.
        Set(AutocastCategory.Float32, FakeQuantize);
        // det: float32 as PyTorch's CPU fp32 list has the linalg ops (a product of n pivots loses range fast in half precision).
        Set(AutocastCategory.Float32, Det);
        // grid_sample as in PyTorch's CUDA fp32 list (grid_sampler): its interpolation weights come from sub-pixel offsets.
        Set(AutocastCategory.Float32, GridSample);
        // Recurrent ops in float32, unlike PyTorch's CPU list (mkldnn_rnn_layer, whose fused kernel keeps its state in
        // float32): ours run as decompositions, which would round the cell state to bf16/fp16 at every time step.
        Set(AutocastCategory.Float32, Lstm, Gru, Rnn);

        // Ops that combine floating tensors: the widest floating dtype wins (PyTorch's promote list has cat and stack;
        // its binary ops promote by their own type rules, as Ops.* do here before dispatch).
        Set(AutocastCategory.Promote, Add, Sub, Mul, Div, Maximum, Minimum, Remainder, Fmod,
            Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual, Where, Concat, ScatterAdd, SliceScatter);

        // Everything else runs in its operands' dtype: elementwise functions without range problems, activations,
        // pooling, shape and indexing ops, dropout, casts, creation and random ops, the optimizer's fused update (which
        // runs outside autocast on float32 master weights).
        Set(AutocastCategory.Passthrough, Neg, Abs, Sign, Sqrt, Tanh, Sigmoid, Erf, Relu, LeakyRelu, Gelu, Clamp,
            LogicalNot, StopGradient, Cast, LogicalAnd, LogicalOr, LogicalXor,
            Cos, Sin, Atan, Asinh, Acosh, Atanh, Floor, Ceil, Round,
            Dropout, OneHot, AdamUpdate, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d,
            Full, Arange, Eye, RandomUniform, RandomNormal, ArgMax, ArgMin, Max, Min,
            GatherElements, Split, Permute, Slice, Reshape, BroadcastTo, Take, Pad, TopK);
        // quantize_linear / dequantize_linear (not in PyTorch's lists): their scale must keep the dtype the model chose (ONNX
        // requires x and scale to agree), integer operands are never cast, and half precision is already computed in float32.
        Set(AutocastCategory.Passthrough, QuantizeLinear, DequantizeLinear);
        return t;
    }
}
