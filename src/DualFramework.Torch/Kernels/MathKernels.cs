using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the math family (<c>OpSet.Math.cs</c>): Acos, Acosh, Asin, Asinh, Atan, Atanh, Ceil, Cos, Cosh, CumSum, Floor, Fmod, Prod, Remainder, Round, Sin, Sinh, Tan.</summary>
internal static class MathKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.Cos, (x, _, _) => Operand(x, 0).cos());
        t.Add(OpSet.Sin, (x, _, _) => Operand(x, 0).sin());
        t.Add(OpSet.Tan, (x, _, _) => Operand(x, 0).tan());
        t.Add(OpSet.Asin, (x, _, _) => Operand(x, 0).asin());
        t.Add(OpSet.Acos, (x, _, _) => Operand(x, 0).acos());
        t.Add(OpSet.Atan, (x, _, _) => Operand(x, 0).atan());
        t.Add(OpSet.Sinh, (x, _, _) => Operand(x, 0).sinh());
        t.Add(OpSet.Cosh, (x, _, _) => Operand(x, 0).cosh());
        t.Add(OpSet.Asinh, (x, _, _) => Operand(x, 0).asinh());
        t.Add(OpSet.Acosh, (x, _, _) => Operand(x, 0).acosh());
        t.Add(OpSet.Atanh, (x, _, _) => Operand(x, 0).atanh());
        t.Add(OpSet.Floor, (x, _, _) => Operand(x, 0).floor());
        t.Add(OpSet.Ceil, (x, _, _) => Operand(x, 0).ceil());
        t.Add(OpSet.Round, (x, _, _) => Operand(x, 0).round());
        t.Add(OpSet.Remainder, (x, _, _) => Operand(x, 0).remainder(Operand(x, 1)));
        t.Add(OpSet.Fmod, (x, _, _) => Operand(x, 0).fmod(Operand(x, 1)));
        t.Add(OpSet.Prod, (x, r, o) =>
        {
            var v = Operand(x, 0);
            var st = ScalarTypeOf(o[0].DType);
            // libtorch reduces one dim at a time (and widens small integers): keep dims, then reshape to the output.
            var y = v.alias();
            foreach (var axis in r.Resolve((int)v.dim()).OrderDescending())
            {
                var next = y.prod(axis, keepdim: true, type: st);
                y.Dispose();
                y = next;
            }
            if (y.dtype != st)
            {
                var cast = y.to_type(st);
                y.Dispose();
                y = cast;
            }
            var res = y.reshape(o[0].Shape.ToArray());
            y.Dispose();
            return res;
        });
        t.Add(OpSet.CumSum, (x, c, o) =>
        {
            var v = Operand(x, 0);
            var st = ScalarTypeOf(o[0].DType);
            long n = v.shape[c.Axis];
            using var src = c.Reverse ? v.flip(c.Axis) : v.alias();
            using var sum = src.cumsum(c.Axis, st);
            torch.Tensor y;
            if (!c.Exclusive || n == 0) y = sum.alias();
            else
            {
                // Exclusive: shift by one along the axis, starting from 0.
                var zshape = v.shape.ToArray();
                zshape[c.Axis] = 1;
                using var zero = torch.zeros(zshape, st, v.device);
                using var head = sum.narrow(c.Axis, 0, n - 1);
                y = torch.cat([zero, head], c.Axis);
            }
            if (!c.Reverse) return y;
            var flipped = y.flip(c.Axis);
            y.Dispose();
            return flipped;
        });
    }
}
