using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private static readonly string[] NnOps =
    [
        "Conv", "ConvTranspose", "BatchNormalization", "InstanceNormalization", "LayerNormalization", "Dropout", "MatMul", "Gemm",
        "Softmax", "LogSoftmax",
    ];

    private sealed partial class Builder
    {
        /// <summary>Convolutions, normalizations, Dropout (inference), MatMul / Gemm and softmax.</summary>
        private Value? MapNn(string op)
        {
            switch (op)
            {
                case "Conv": return Conv();
                case "ConvTranspose": return ConvTranspose();
                case "BatchNormalization": return BatchNorm();
                case "InstanceNormalization":
                {
                    var x = Float(In(0));
                    int rank = x.Spec.Shape.Rank;
                    if (rank < 3) throw Bad($"input must have rank ≥ 3 ([N, C, ...]), got {x.Spec.Shape}");
                    var (mean, v) = Moments(x, Enumerable.Range(2, rank - 2).ToArray());
                    return Normalize(x, mean, v, Float("epsilon", 1e-5f), PerChannel(In(1), rank), PerChannel(In(2), rank));
                }
                case "LayerNormalization": return LayerNorm();
                case "Dropout": return Dropout();
                case "MatMul": return MatMul(In(0), In(1));
                case "Gemm":
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
                }
                case "Softmax" or "LogSoftmax":
                {
                    var x = In(0);
                    int rank = x.Spec.Shape.Rank;
                    var sm = op == "Softmax" ? OpSet.Softmax : OpSet.LogSoftmax;
                    if (opset >= 13) return Node(sm, new SoftmaxAttrs(Axis(Int("axis", -1), rank)), x);
                    // Before opset 13, Softmax flattens to 2-D at `axis` and normalises each row.
                    int axis = Axis(Int("axis", 1), rank);
                    if (axis == rank - 1) return Node(sm, new SoftmaxAttrs(axis), x);
                    var d = x.Spec.Shape.ToArray();
                    var flat = Reshape(x, [Prod(d[..axis]), Prod(d[axis..])]);
                    return Reshape(Node(sm, new SoftmaxAttrs(1), flat), d);
                }
                default: return null;
            }
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

        private Value PerChannel(Value v, int rank)
        {
            var dims = Enumerable.Repeat(1L, rank).ToArray();
            dims[1] = v.Spec.Shape.NumElements;
            return Reshape(v, dims);
        }

        // Mean and biased variance over `axes`, kept as size-1 dims.
        private (Value Mean, Value Var) Moments(Value x, int[] axes)
        {
            var red = new ReduceAttrs(axes, true);
            var mean = Node(OpSet.Mean, red, x);
            var c = Bin(OpSet.Sub, x, mean);
            return (mean, Node(OpSet.Mean, red, Bin(OpSet.Mul, c, c)));
        }

        private Value Normalize(Value x, Value mean, Value v, double eps, Value scale, Value bias)
        {
            var xhat = Bin(OpSet.Div, Bin(OpSet.Sub, x, mean), Un(OpSet.Sqrt, Bin(OpSet.Add, v, Sc(eps, v))));
            return Bin(OpSet.Add, Bin(OpSet.Mul, xhat, scale), bias);
        }

        private Value BatchNorm()
        {
            if (Int("spatial", 1) != 1) throw Bad("spatial=0 is not supported");
            double eps = Float("epsilon", 1e-5f);
            bool training = opset >= 14 && Int("training_mode", 0) != 0;
            if (!training)
            {
                var bn = Node(OpSet.BatchNorm, new BatchNormAttrs(false, eps), In(0), In(1), In(2), In(3), In(4));
                // In a module in training mode this node normalises with batch statistics (ImportedModel.Forward).
                Training.BatchNormMomentum[bn.Producer!] = Float("momentum", 0.9f);
                return bn;
            }
            // Training mode: normalise with the batch statistics (biased variance) and output the updated running statistics.
            var x = Float(In(0));
            int rank = x.Spec.Shape.Rank;
            if (rank < 2) throw Bad($"input must have rank ≥ 2, got {x.Spec.Shape}");
            var (mean, v) = Moments(x, Enumerable.Range(0, rank).Where(a => a != 1).ToArray());
            var y = Normalize(x, mean, v, eps, PerChannel(In(1), rank), PerChannel(In(2), rank));
            double m = Float("momentum", 0.9f);
            long c = x.Spec.Shape[1];
            Value Running(Value old, Value batch) =>
                Bin(OpSet.Add, Bin(OpSet.Mul, old, Sc(m, old)), Bin(OpSet.Mul, Reshape(batch, [c]), Sc(1 - m, old)));
            _more.Add(Running(In(3), mean));
            _more.Add(Running(In(4), v));
            return y;
        }

        private Value LayerNorm()
        {
            var x = Float(In(0));
            int rank = x.Spec.Shape.Rank;
            int axis = Axis(Int("axis", -1), rank);
            double eps = Float("epsilon", 1e-5f);
            var norm = x.Spec.Shape.ToArray()[axis..];
            Value Fit(Value v) => v.Spec.Shape.ToArray().SequenceEqual(norm) ? v : Node(OpSet.BroadcastTo, new ShapeAttrs(norm), v);
            var ins = new List<Value> { x, Fit(In(1)) };
            if (Has(2)) ins.Add(Fit(In(2)));
            var y = Node(OpSet.LayerNorm, new LayerNormAttrs(rank - axis, eps, true, Has(2)), ins.ToArray());
            bool wantStats = Enumerable.Range(1, _n.Output.Count - 1).Any(i => _n.Output[i] != "" && needed.Contains(_n.Output[i]));
            if (wantStats)
            {
                // Mean and 1/sqrt(var + eps) over the normalized axes, kept as size-1 dims.
                var (mean, v) = Moments(x, Enumerable.Range(axis, rank - axis).ToArray());
                _more.Add(mean);
                _more.Add(Bin(OpSet.Div, Sc(1, v), Un(OpSet.Sqrt, Bin(OpSet.Add, v, Sc(eps, v)))));
            }
            return y;
        }

        private Value Dropout()
        {
            // Training mode draws a random mask, which is not imported; with a ratio of 0 it keeps everything anyway. The
            // mode must be a model constant: as a model input it would switch between random and identity at run time.
            if (opset >= 12 && Has(2))
            {
                byte[]? mode = ConstData.TryGetValue(_n.Input[2], out var c) ? c.Data : In(2).ConstantData;
                if (mode == null) throw Bad("a training_mode that is not a model constant is not supported");
                if (mode.Any(b => b != 0))
                {
                    byte[]? known = Has(1) && KnownValue(1) is { } kv ? kv.Data : null;
                    bool zero = known != null && known.All(b => b == 0);
                    if (!zero) throw Bad("training_mode=true with a ratio that is not a constant 0 (a random mask) is not supported");
                }
            }
            var x = In(0);
            if (_n.Output.Count > 1 && needed.Contains(_n.Output[1]))
                _more.Add(Filled(x.Spec.Shape.ToArray(), 1, DType.Bool));
            // In a module in training mode the ratio applies: a no-op reshape marks the place (ImportedModel.Forward).
            double ratio = opset >= 12 ? (Has(1) ? (KnownValue(1) is { } r ? ScalarOf(r) : double.NaN) : 0.5) : Float("ratio", 0.5f);
            if (ratio > 0 && x.Spec.DType.IsFloating())
            {
                var marked = Node(OpSet.Reshape, new ShapeAttrs(x.Spec.Shape.ToArray()), x);
                Training.DropoutRatio[marked.Producer!] = ratio;
                return marked;
            }
            return x;
        }

        private double ScalarOf((TensorSpec Spec, byte[] Data) c)
        {
            using var s = TensorScope.Begin();
            var v = Tensor.FromBytes(c.Data, c.Spec, options.Backend).ToDoubleArray();
            return v.Length == 1 ? v[0] : throw Bad("ratio must be a scalar");
        }

        private Value Conv()
        {
            var x = In(0);
            int sp = x.Spec.Shape.Rank - 2;
            if (sp is not (1 or 2)) throw Bad($"only 1-D and 2-D convolutions are supported, the input has rank {x.Spec.Shape.Rank}");
            var w = In(1);
            if (w.Spec.Shape.Rank != sp + 2) throw Bad($"weight must have rank {sp + 2}, got {w.Spec.Shape}");
            long[] stride = Fill(Ints("strides"), sp, 1), dil = Fill(Ints("dilations"), sp, 1);
            if (stride.Length != sp || dil.Length != sp) throw Bad($"strides and dilations need {sp} entries");
            var span = Enumerable.Range(0, sp).Select(i => dil[i] * (w.Spec.Shape[2 + i] - 1) + 1).ToArray();
            var (b, e) = Pads(x.Spec.Shape.ToArray()[2..], span, stride);
            // Our conv pads both ends equally: other pads are applied as explicit zeros.
            bool sym = b.SequenceEqual(e);
            var input = sym ? x : PadSpatial(x, b, e, 0);
            var attrs = new ConvAttrs(stride, sym ? b : new long[sp], dil, Int("group", 1));
            return Has(2) ? Node(OpSet.Conv, attrs, input, w, In(2)) : Node(OpSet.Conv, attrs, input, w);
        }

        private Value ConvTranspose()
        {
            var x = Float(In(0));
            int sp = x.Spec.Shape.Rank - 2;
            if (sp is not (1 or 2)) throw Bad($"only 1-D and 2-D transposed convolutions are supported, the input has rank {x.Spec.Shape.Rank}");
            var w = In(1);
            if (w.Spec.Shape.Rank != sp + 2) throw Bad($"weight must have rank {sp + 2}, got {w.Spec.Shape}");
            long[] stride = Fill(Ints("strides"), sp, 1), dil = Fill(Ints("dilations"), sp, 1), outPad = Fill(Ints("output_padding"), sp, 0);
            if (stride.Length != sp || dil.Length != sp || outPad.Length != sp) throw Bad($"strides, dilations and output_padding need {sp} entries");
            var k = w.Spec.Shape.ToArray()[2..];
            if (Ints("kernel_shape") is { } ks && !ks.SequenceEqual(k)) throw Bad($"kernel_shape [{string.Join(", ", ks)}] differs from the weight's [{string.Join(", ", k)}]");
            var inSize = x.Spec.Shape.ToArray()[2..];
            // Unpadded output size; pads (given, SAME_* or implied by output_shape) are cropped from it.
            var full = Enumerable.Range(0, sp).Select(i => stride[i] * (inSize[i] - 1) + dil[i] * (k[i] - 1) + 1 + outPad[i]).ToArray();
            long[] b, e;
            var auto = Str("auto_pad", "NOTSET");
            var os = Ints("output_shape");
            if (os != null || auto is "SAME_UPPER" or "SAME_LOWER")
            {
                var want = os == null ? inSize.Select((v, i) => v * stride[i]).ToArray()
                    : os.Length == sp ? os : os.Length == sp + 2 ? os[2..] : throw Bad($"output_shape needs {sp} entries, got {os.Length}");
                b = new long[sp];
                e = new long[sp];
                for (int i = 0; i < sp; i++)
                {
                    long total = full[i] - want[i];
                    if (total < 0) throw Bad($"the requested output size [{string.Join(", ", want)}] is larger than the full output [{string.Join(", ", full)}], which is not supported");
                    // ONNX: the odd element is cropped at the end for SAME_UPPER, at the beginning otherwise.
                    b[i] = auto == "SAME_UPPER" ? total / 2 : total - total / 2;
                    e[i] = total - b[i];
                }
            }
            else if (auto is "NOTSET" or "" or "VALID")
            {
                var p = auto == "VALID" ? new long[2 * sp] : Fill(Ints("pads"), 2 * sp, 0);
                if (p.Length != 2 * sp) throw Bad($"pads needs {2 * sp} entries, got {p.Length}");
                if (p.Any(v => v < 0)) throw Bad($"negative pads [{string.Join(", ", p)}] are not supported");
                (b, e) = (p[..sp], p[sp..]);
            }
            else throw Bad($"auto_pad '{auto}' is not supported");
            bool sym = b.SequenceEqual(e);
            var attrs = new ConvTransposeAttrs(stride, sym ? b : new long[sp], outPad, dil, Int("group", 1));
            var y = Has(2) ? Node(OpSet.ConvTranspose, attrs, x, w, In(2)) : Node(OpSet.ConvTranspose, attrs, x, w);
            if (sym) return y;
            var axes = Enumerable.Range(2, sp).ToArray();
            var ends = Enumerable.Range(0, sp).Select(i => full[i] - e[i]).ToArray();
            return Node(OpSet.Slice, new SliceAttrs(axes, b, ends, Enumerable.Repeat(1L, sp).ToArray()), y);
        }
    }
}
