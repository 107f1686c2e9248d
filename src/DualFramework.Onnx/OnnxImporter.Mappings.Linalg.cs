using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>MatMul and Gemm on the op set's linalg family (matmul, linear), Det on det, Einsum through
        /// <see cref="Ops.Einsum"/>.</summary>
        private void AddLinalg()
        {
            Map("MatMul", _ => MatMul(In(0), In(1)));
            Map("Det", _ => Un(OpSet.Det, Float(In(0))));
            Map("Einsum", _ => Einsum());
            Map("Gemm", _ =>
            {
                Value a = In(0), b = In(1);
                double alpha = Float("alpha", 1), beta = Float("beta", 1);
                if (Int("transA", 0) != 0) a = Node(OpSet.Permute, new PermuteAttrs([1, 0]), a);
                bool tb = Int("transB", 0) != 0;
                if (tb && alpha == 1 && beta == 1 && Has(2) && In(2).Spec.Shape.Rank == 1 && In(2).Spec.Shape[0] == b.Spec.Shape[0])
                    return Node(OpSet.Linear, OpAttrs.None, a, b, In(2));
                if (tb) b = Node(OpSet.Permute, new PermuteAttrs([1, 0]), b);
                var y = Bin(OpSet.MatMul, a, b);
                if (alpha != 1) y = Bin(OpSet.Mul, y, Sc(alpha, y));
                if (!Has(2) || beta == 0) return y;
                var c = In(2);
                if (beta != 1) c = Bin(OpSet.Mul, c, Sc(beta, c));
                return Bin(OpSet.Add, y, c);
            });
        }

        /// <summary>NumPy matmul: a 1-D left operand is a row vector, a 1-D right operand a column vector; the added axis is removed.</summary>
        private Value MatMul(Value a, Value b)
        {
            int ra = a.Spec.Shape.Rank, rb = b.Spec.Shape.Rank;
            if (ra == 0 || rb == 0) throw Bad("scalar operands are not allowed");
            var a2 = ra == 1 ? Reshape(a, [1, a.Spec.Shape[0]]) : a;
            var b2 = rb == 1 ? Reshape(b, [b.Spec.Shape[0], 1]) : b;
            var y = Bin(OpSet.MatMul, a2, b2);
            if (ra > 1 && rb > 1) return y;
            var d = y.Spec.Shape.ToArray().ToList();
            if (rb == 1) d.RemoveAt(d.Count - 1);
            if (ra == 1) d.RemoveAt(d.Count - 1 - (rb == 1 ? 0 : 1));
            return Reshape(y, d.ToArray());
        }

        /// <summary>Einsum (opset 12+): <see cref="Ops.Einsum"/> run on symbolic tensors of the graph being built, so its
        /// decomposition (permute, reshape, strided slice, sum, matmul) becomes graph nodes.</summary>
        private Value Einsum()
        {
            var operands = Inputs();
            if (operands.Any(o => !o.Spec.DType.IsFloating() && !o.Spec.DType.IsInteger())) throw Bad("bool operands are not supported");
            return Traced(t => Ops.Einsum(Str("equation", ""), t), operands);
        }
    }
}
