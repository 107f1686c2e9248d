using DualFramework.Operators;

namespace DualFramework.IR.Passes;

/// <summary>
/// Rewrites a 2-D convolution whose output planes are tiny and whose kernel is large (the weight gradient of a
/// convolution, which convolves the input with the output gradient as a kernel) into one matrix product per output
/// position: <c>y[:, :, i, j] = window_ij(x) · wᵀ</c>, with each window flattened to <c>[B, Cin·KH·KW]</c>.
/// </summary>
/// <remarks>
/// im2col-based convolutions (ONNX Runtime's) turn such a convolution into a GEMM with as many columns as output
/// positions (9 for a 3×3 weight gradient), which runs far below peak; a few well-shaped products of depth Cin·KH·KW
/// run near it. The result is the same sum in another order (float rounding only). Groups other than 1 are left alone.
/// </remarks>
public sealed class SmallOutputConvToMatMul : IGraphPass
{
    /// <summary>Largest number of output positions rewritten (one product each).</summary>
    public const int MaxOutputPositions = 16;

    /// <summary>Smallest batch rewritten: each product has the batch as rows, and fewer rows re-read the whole weight for
    /// little work.</summary>
    public const int MinBatch = 8;

    /// <summary>The kernel must cover at least this many times more positions than the output plane.</summary>
    public const int MinKernelToOutputRatio = 4;

    /// <inheritdoc />
    public string Name => "small_output_conv_to_matmul";

    /// <inheritdoc />
    public bool Run(Graph graph) => PassUtil.Rewrite(graph, (n, nodes, map) =>
    {
        if (!ReferenceEquals(n.Op, OpSet.Conv) || n.Attrs is not ConvAttrs a || !Applies(n, a)) return false;
        map[n.Outputs[0]] = Emit(graph, n, a, nodes);
        return true;
    });

    private static bool Applies(Node n, ConvAttrs a)
    {
        if (a.Groups != 1 || a.Stride.Length != 2) return false;
        TensorSpec x = n.Inputs[0].Spec, w = n.Inputs[1].Spec, y = n.Outputs[0].Spec;
        if (!x.DType.IsFloating() || x.Shape.Rank != 4 || x.Shape[0] < MinBatch) return false;
        long positions = y.Shape[2] * y.Shape[3], kernel = w.Shape[2] * w.Shape[3];
        return positions is > 0 and <= MaxOutputPositions && kernel >= MinKernelToOutputRatio * positions;
    }

    private static Value Emit(Graph g, Node conv, ConvAttrs a, List<Node> nodes)
    {
        string? path = conv.LayerPath;
        Value Add(Op op, OpAttrs attrs, params Value[] inputs)
        {
            var node = g.CreateDetachedNode(op, attrs, inputs, path);
            nodes.Add(node);
            return node.Outputs[0];
        }
        Value x = conv.Inputs[0], w = conv.Inputs[1];
        var dt = x.Spec.DType;
        Shape xs = x.Spec.Shape, ws = w.Spec.Shape, ys = conv.Outputs[0].Spec.Shape;
        long b = xs[0], cin = xs[1], cout = ws[0], kh = ws[2], kw = ws[3], oh = ys[2], ow = ys[3];
        // Zero padding as concatenated zero blocks (rows, then columns).
        Value Pad(Value v, int axis, long p)
        {
            if (p == 0) return v;
            var dims = v.Spec.Shape.Dims.ToArray();
            dims[axis] = p;
            var zeros = Add(OpSet.Full, new FullAttrs(dims, 0, dt));
            return Add(OpSet.Concat, new ConcatAttrs(axis), zeros, v, zeros);
        }
        var xp = Pad(Pad(x, 2, a.Padding[0]), 3, a.Padding[1]);
        // Channels last, once for x and w: a window then copies runs of kw·cin contiguous values instead of kw, which
        // made the nine windows of the CNN's second weight gradient 5× slower than the two transposes.
        var xl = Add(OpSet.Permute, new PermuteAttrs([0, 2, 3, 1]), xp);
        var wFlat = Add(OpSet.Reshape, new ShapeAttrs([cout, kh * kw * cin]), Add(OpSet.Permute, new PermuteAttrs([0, 2, 3, 1]), w));
        var columns = new Value[oh * ow];
        for (long i = 0; i < oh; i++)
            for (long j = 0; j < ow; j++)
            {
                long r0 = i * a.Stride[0], c0 = j * a.Stride[1];
                var window = Add(OpSet.Slice, new SliceAttrs([1, 2], [r0, c0], [r0 + (kh - 1) * a.Dilation[0] + 1, c0 + (kw - 1) * a.Dilation[1] + 1],
                    [a.Dilation[0], a.Dilation[1]]), xl);
                var flat = Add(OpSet.Reshape, new ShapeAttrs([b, kh * kw * cin]), window);
                columns[i * ow + j] = Add(OpSet.Reshape, new ShapeAttrs([b, cout, 1]), Add(OpSet.Linear, OpAttrs.None, flat, wFlat));
            }
        var y = columns.Length == 1 ? columns[0] : Add(OpSet.Concat, new ConcatAttrs(2), columns);
        y = Add(OpSet.Reshape, new ShapeAttrs([b, cout, oh, ow]), y);
        if (conv.Inputs.Length == 3) y = Add(OpSet.Add, OpAttrs.None, y, Add(OpSet.Reshape, new ShapeAttrs([1, cout, 1, 1]), conv.Inputs[2]));
        return y;
    }
}
