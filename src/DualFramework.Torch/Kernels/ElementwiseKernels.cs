using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the elementwise family (<c>OpSet.Elementwise.cs</c>): Abs, Add, Cast, Clamp, Div, Equal, Erf, Exp, Gelu, Greater, GreaterEqual, LeakyRelu, Less, LessEqual, Log, LogicalAnd, LogicalNot, LogicalOr, LogicalXor, Maximum, Minimum, Mul, Neg, NotEqual, Pow, Relu, Rsqrt, Sigmoid, Sign, Softplus, Sqrt, StopGradient, Sub, Tanh, Where.</summary>
internal static class ElementwiseKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.Neg, (x, _, _) => Operand(x, 0).neg());
        t.Add(OpSet.Abs, (x, _, _) => Operand(x, 0).abs());
        t.Add(OpSet.Sign, (x, _, _) => Operand(x, 0).sign());
        t.Add(OpSet.Exp, (x, _, _) => Operand(x, 0).exp());
        t.Add(OpSet.Log, (x, _, _) => Operand(x, 0).log());
        t.Add(OpSet.Sqrt, (x, _, _) => Operand(x, 0).sqrt());
        t.Add(OpSet.Rsqrt, (x, _, _) => Operand(x, 0).rsqrt());
        t.Add(OpSet.Tanh, (x, _, _) => Operand(x, 0).tanh());
        t.Add(OpSet.Sigmoid, (x, _, _) => Operand(x, 0).sigmoid());
        t.Add(OpSet.Erf, (x, _, _) => Operand(x, 0).erf());
        t.Add(OpSet.Relu, (x, _, _) => Operand(x, 0).relu());
        t.Add(OpSet.LeakyRelu, (x, a, _) =>
        {
            using var alpha = Float64Scalar(a.Alpha);
            return Operand(x, 0).leaky_relu(alpha);
        });
        t.Add(OpSet.Gelu, (x, a, _) => a.Approximation == GeluApproximation.Tanh
            ? Operand(x, 0).gelu(TorchSharp.Modules.GELU.Approximate.tanh)
            : Operand(x, 0).gelu());
        t.Add(OpSet.Softplus, (x, s, _) =>
        {
            // TorchSharp's softplus takes numbers only and converts them to temporaries nobody keeps alive.
            return NativeCalls.Softplus(Operand(x, 0), s.Beta, s.Threshold);
        });
        t.Add(OpSet.Clamp, (x, c, o) =>
        {
            var v = Operand(x, 0);
            var dt = o[0].DType;
            bool lo = !double.IsNegativeInfinity(c.Min), hi = !double.IsPositiveInfinity(c.Max);
            using var min = lo ? ScalarFor(c.Min, dt) : null;
            using var max = hi ? ScalarFor(c.Max, dt) : null;
            if (lo && hi) return v.clamp(min, max);
            if (lo) return v.clamp_min(min!);
            if (hi) return v.clamp_max(max!);
            return v.alias();
        });
        t.Add(OpSet.LogicalNot, (x, _, _) => Operand(x, 0).logical_not());
        t.Add(OpSet.StopGradient, (x, _, _) => Operand(x, 0).detach());
        t.Add(OpSet.Cast, (x, a, _) => Operand(x, 0).to_type(ScalarTypeOf(a.To)));
        t.Add(OpSet.Add, (x, _, _) => Operand(x, 0).add(Operand(x, 1), ScalarOne));
        t.Add(OpSet.Sub, (x, _, _) => Operand(x, 0).sub(Operand(x, 1)));
        t.Add(OpSet.Mul, (x, _, _) => Operand(x, 0).mul(Operand(x, 1)));
        t.Add(OpSet.Div, (x, _, _) => Operand(x, 0).div(Operand(x, 1)));
        t.Add(OpSet.Pow, (x, _, _) => Operand(x, 0).pow(Operand(x, 1)));
        t.Add(OpSet.Maximum, (x, _, _) => Operand(x, 0).maximum(Operand(x, 1)));
        t.Add(OpSet.Minimum, (x, _, _) => Operand(x, 0).minimum(Operand(x, 1)));
        t.Add(OpSet.Equal, (x, _, _) => Operand(x, 0).eq(Operand(x, 1)));
        t.Add(OpSet.NotEqual, (x, _, _) => Operand(x, 0).ne(Operand(x, 1)));
        t.Add(OpSet.Less, (x, _, _) => Operand(x, 0).lt(Operand(x, 1)));
        t.Add(OpSet.LessEqual, (x, _, _) => Operand(x, 0).le(Operand(x, 1)));
        t.Add(OpSet.Greater, (x, _, _) => Operand(x, 0).gt(Operand(x, 1)));
        t.Add(OpSet.GreaterEqual, (x, _, _) => Operand(x, 0).ge(Operand(x, 1)));
        t.Add(OpSet.LogicalAnd, (x, _, _) => Operand(x, 0).logical_and(Operand(x, 1)));
        t.Add(OpSet.LogicalOr, (x, _, _) => Operand(x, 0).logical_or(Operand(x, 1)));
        t.Add(OpSet.LogicalXor, (x, _, _) => Operand(x, 0).logical_xor(Operand(x, 1)));
        t.Add(OpSet.Where, (x, _, _) => torch.where(Operand(x, 0), Operand(x, 1), Operand(x, 2)));
    }
}
