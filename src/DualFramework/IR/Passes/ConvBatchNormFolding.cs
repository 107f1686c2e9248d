using DualFramework.Operators;

namespace DualFramework.IR.Passes;

/// <summary>
/// Inference only: folds <c>batch_norm(conv(x, W, b?), γ, β, μ, σ², training: false)</c> into one convolution
/// <c>conv(x, W·s, (b − μ)·s + β)</c> with <c>s = γ/√(σ² + eps)</c> per output channel. The folded weight and bias are
/// written as graph nodes on the original operands: with constant weights, constant folding turns them into constants;
/// with weights that are graph inputs (state), they cost a few small per-channel kernels instead of a full-size
/// normalisation pass. Applies when the conv result feeds only the batch norm and the dtype is float32 or float64.
/// </summary>
public sealed class ConvBatchNormFolding : IGraphPass
{
    /// <inheritdoc />
    public string Name => "conv_batchnorm_folding";

    /// <inheritdoc />
    public bool Run(Graph graph)
    {
        var uses = PassUtil.UseCounts(graph);
        return PassUtil.Rewrite(graph, (n, nodes, map) =>
        {
            if (!ReferenceEquals(n.Op, OpSet.BatchNorm) || n.Attrs is not BatchNormAttrs { Training: false } bn ||
                n.Inputs[0].Producer is not { } conv || !ReferenceEquals(conv.Op, OpSet.Conv) || uses.GetValueOrDefault(n.Inputs[0]) != 1 ||
                n.Inputs[0].Spec.DType is not (DType.Float32 or DType.Float64))
                return false;
            var dt = n.Inputs[0].Spec.DType;
            Value gamma = n.Inputs[1], beta = n.Inputs[2], mean = n.Inputs[3], variance = n.Inputs[4];
            Value x = conv.Inputs[0], w = conv.Inputs[1];
            Value? bias = conv.Inputs.Length == 3 ? conv.Inputs[2] : null;
            Value Add1(Op op, OpAttrs attrs, params Value[] ins)
            {
                var node = graph.CreateDetachedNode(op, attrs, ins, n.LayerPath);
                nodes.Add(node);
                return node.Outputs[0];
            }
            var eps = graph.AddConstant(new TensorSpec(Shape.Scalar, dt), PassUtil.Bytes([bn.Eps], dt)!, "bn_eps");
            var scale = Add1(OpSet.Mul, OpAttrs.None, gamma, Add1(OpSet.Rsqrt, OpAttrs.None, Add1(OpSet.Add, OpAttrs.None, variance, eps)));
            var dims = Enumerable.Repeat(1L, w.Spec.Shape.Rank).ToArray();
            dims[0] = w.Spec.Shape[0];
            var w2 = Add1(OpSet.Mul, OpAttrs.None, w, Add1(OpSet.Reshape, new ShapeAttrs(dims), scale));
            var shifted = bias != null ? Add1(OpSet.Sub, OpAttrs.None, bias, mean) : Add1(OpSet.Neg, OpAttrs.None, mean);
            var b2 = Add1(OpSet.Add, OpAttrs.None, Add1(OpSet.Mul, OpAttrs.None, shifted, scale), beta);
            var folded = Add1(OpSet.Conv, conv.Attrs, x, w2, b2);
            map[n.Outputs[0]] = folded;
            // In inference mode the statistics outputs are the running statistics themselves.
            map[n.Outputs[1]] = mean;
            map[n.Outputs[2]] = variance;
            return true;
        });
    }
}
