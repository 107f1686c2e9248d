using DualFramework.IR;
using DualFramework.Onnx.Proto;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "Conv", "BatchNormalization", "Relu", "Add", "Sub", "Mul", "Div", "MaxPool", "AveragePool", "GlobalAveragePool",
        "Gemm", "MatMul", "Flatten", "Reshape", "Sigmoid", "Tanh", "Softmax", "Concat", "Identity", "Dropout", "Transpose",
        "Clip", "LeakyRelu", "Exp", "Log", "Sqrt", "Neg", "Abs", "Pow", "ReduceMean", "ReduceSum", "Unsqueeze", "Squeeze", "Constant",
    };

    /// <summary>Maps ONNX nodes onto graph nodes, tracking ONNX value names.</summary>
    private sealed class Builder(OnnxImportOptions options, int opset)
    {
        public Graph Graph { get; } = new();
        public Dictionary<string, Value> Values { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, (TensorSpec Spec, byte[] Data)> ConstData { get; } = new(StringComparer.Ordinal);
        private NodeProto _n = null!;

        public Value Get(string name, string what) =>
            Values.TryGetValue(name, out var v) ? v : throw new OnnxImportException($"{what} uses value '{name}', which is never defined.");

        private string Where => $"{_n.OpType} node '{_n.Name}'";
        private OnnxImportException Bad(string reason) => new($"{Where}: {reason}");
        private Value In(int i) => i < _n.Input.Count && _n.Input[i] != "" ? Get(_n.Input[i], Where) : throw Bad($"missing input {i}");
        private bool Has(int i) => i < _n.Input.Count && _n.Input[i] != "";
        private AttributeProto? Attr(string name) => _n.Attribute.FirstOrDefault(a => a.Name == name);
        private long Int(string name, long dflt) => Attr(name) is { } a ? a.I : dflt;
        private float Float(string name, float dflt) => Attr(name) is { } a ? a.F : dflt;
        private long[]? Ints(string name) => Attr(name)?.Ints.ToArray();
        private string Str(string name, string dflt) => Attr(name) is { } a ? a.S.ToStringUtf8() : dflt;

        private Value Node(Op op, OpAttrs attrs, params Value[] inputs)
        {
            try
            {
                return Graph.AddNode(op, attrs, inputs, _n.Name)[0];
            }
            catch (OpException e)
            {
                throw Bad(e.Message);
            }
        }

        private long[] ConstInts(int i)
        {
            var name = _n.Input[i];
            if (!ConstData.TryGetValue(name, out var c)) throw Bad($"input '{name}' must be a constant (initializer or Constant node)");
            if (c.Spec.DType == DType.Int64) return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(c.Data).ToArray();
            if (c.Spec.DType == DType.Int32) return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(c.Data).ToArray().Select(x => (long)x).ToArray();
            throw Bad($"input '{name}' must be int64");
        }

        private double? ConstScalar(int i)
        {
            if (!Has(i)) return null;
            var name = _n.Input[i];
            if (!ConstData.TryGetValue(name, out var c) || c.Spec.Shape.NumElements != 1) throw Bad($"input '{name}' must be a constant scalar");
            using var s = TensorScope.Begin();
            return Tensor.FromBytes(c.Data, c.Spec).ToDoubleArray()[0];
        }

        private Value Scalar(double x, DType dtype) => Graph.AddConstant(new TensorSpec(Shape.Scalar, dtype), OnnxTypes.ScalarBytes(x, dtype));

        private Value Reshape(Value x, long[] shape) => Node(OpSet.Reshape, new ShapeAttrs(shape), x);

        private (long[] Begin, long[] End) Pads(int spatial)
        {
            var p = Ints("pads") ?? new long[2 * spatial];
            if (p.Length != 2 * spatial) throw Bad($"pads needs {2 * spatial} entries, got {p.Length}");
            if (p.Any(v => v < 0)) throw Bad($"negative pads [{string.Join(", ", p)}] are not supported");
            var auto = Str("auto_pad", "NOTSET");
            if (auto is not ("NOTSET" or "VALID" or "")) throw Bad($"auto_pad {auto} is not supported (only NOTSET and VALID)");
            return auto == "VALID" ? (new long[spatial], new long[spatial]) : (p[..spatial], p[spatial..]);
        }

        /// <summary>
        /// Applies a windowed op (conv / pool) whose ONNX pads may differ at the two ends of an axis: our ops pad
        /// symmetrically, so it pads max(begin, end) on both sides and slices away the extra windows. With begin &lt; end
        /// the windows are shifted by (end − begin), which is only a whole number of outputs when the stride divides it.
        /// </summary>
        private Value Windowed(Value x, long[] kernelSpan, long[] stride, (long[] Begin, long[] End) pads, Func<long[], Value> apply)
        {
            int sp = kernelSpan.Length;
            var sym = new long[sp];
            var start = new long[sp];
            var want = new long[sp];
            bool slice = false;
            for (int i = 0; i < sp; i++)
            {
                long b = pads.Begin[i], e = pads.End[i];
                sym[i] = Math.Max(b, e);
                if (b == e) continue;
                if ((e - b) % stride[i] != 0 && b < e)
                    throw Bad($"pads [{b}, {e}] along spatial axis {i} with stride {stride[i]} cannot be expressed with symmetric padding");
                start[i] = b < e ? (e - b) / stride[i] : 0;
                long inSize = x.Spec.Shape[2 + i];
                long span = inSize + b + e - kernelSpan[i];
                if (span < 0) throw Bad($"the kernel (span {kernelSpan[i]}) is larger than the padded input ({inSize + b + e}) along spatial axis {i}");
                want[i] = span / stride[i] + 1;
                slice = true;
            }
            var y = apply(sym);
            if (!slice) return y;
            var axes = Enumerable.Range(2, sp).ToArray();
            var ends = new long[sp];
            for (int i = 0; i < sp; i++)
            {
                if (pads.Begin[i] == pads.End[i]) { start[i] = 0; ends[i] = y.Spec.Shape[2 + i]; }
                else ends[i] = start[i] + want[i];
            }
            return Node(OpSet.Slice, new SliceAttrs(axes, start, ends, Enumerable.Repeat(1L, sp).ToArray()), y);
        }

        private static long[] Fill(long[]? v, int n, long dflt) => v ?? Enumerable.Repeat(dflt, n).ToArray();

        private int Axis(long axis, int rank)
        {
            if (axis < -rank || axis >= rank) throw Bad($"axis {axis} is out of range for rank {rank}");
            return (int)(axis < 0 ? axis + rank : axis);
        }

        public void Import(NodeProto n)
        {
            _n = n;
            Value result = Map(n.OpType);
            if (n.Output.Count == 0) throw Bad("has no outputs");
            Values[n.Output[0]] = result;
        }

        private Value Map(string op)
        {
            switch (op)
            {
                case "Relu": return Node(OpSet.Relu, OpAttrs.None, In(0));
                case "Sigmoid": return Node(OpSet.Sigmoid, OpAttrs.None, In(0));
                case "Tanh": return Node(OpSet.Tanh, OpAttrs.None, In(0));
                case "Exp": return Node(OpSet.Exp, OpAttrs.None, In(0));
                case "Log": return Node(OpSet.Log, OpAttrs.None, In(0));
                case "Sqrt": return Node(OpSet.Sqrt, OpAttrs.None, In(0));
                case "Neg": return Node(OpSet.Neg, OpAttrs.None, In(0));
                case "Abs": return Node(OpSet.Abs, OpAttrs.None, In(0));
                case "LeakyRelu": return Node(OpSet.LeakyRelu, new LeakyReluAttrs(Float("alpha", 0.01f)), In(0));
                case "Add": return Node(OpSet.Add, OpAttrs.None, In(0), In(1));
                case "Sub": return Node(OpSet.Sub, OpAttrs.None, In(0), In(1));
                case "Mul": return Node(OpSet.Mul, OpAttrs.None, In(0), In(1));
                case "Div": return Node(OpSet.Div, OpAttrs.None, In(0), In(1));
                case "Pow":
                {
                    Value a = In(0), b = In(1);
                    if (b.Spec.DType != a.Spec.DType) b = Node(OpSet.Cast, new CastAttrs(a.Spec.DType), b);
                    return Node(OpSet.Pow, OpAttrs.None, a, b);
                }
                case "Identity": return In(0);
                case "Dropout":
                    return In(0);
                case "Clip":
                {
                    double lo, hi;
                    if (opset < 11) { lo = Float("min", float.NegativeInfinity); hi = Float("max", float.PositiveInfinity); }
                    else { lo = ConstScalar(1) ?? double.NegativeInfinity; hi = ConstScalar(2) ?? double.PositiveInfinity; }
                    return Node(OpSet.Clamp, new ClampAttrs(lo, hi), In(0));
                }
                case "Conv":
                {
                    var x = In(0);
                    int sp = x.Spec.Shape.Rank - 2;
                    if (sp is not (1 or 2)) throw Bad($"only 1-D and 2-D convolutions are supported, the input has rank {x.Spec.Shape.Rank}");
                    var w = In(1);
                    if (w.Spec.Shape.Rank != sp + 2) throw Bad($"weight must have rank {sp + 2}, got {w.Spec.Shape}");
                    long[] stride = Fill(Ints("strides"), sp, 1), dil = Fill(Ints("dilations"), sp, 1);
                    if (stride.Length != sp || dil.Length != sp) throw Bad($"strides and dilations need {sp} entries");
                    var span = Enumerable.Range(0, sp).Select(i => dil[i] * (w.Spec.Shape[2 + i] - 1) + 1).ToArray();
                    return Windowed(x, span, stride, Pads(sp), pad =>
                    {
                        var attrs = new ConvAttrs(stride, pad, dil, Int("group", 1));
                        return Has(2) ? Node(OpSet.Conv, attrs, x, w, In(2)) : Node(OpSet.Conv, attrs, x, w);
                    });
                }
                case "BatchNormalization":
                    if (Int("spatial", 1) != 1) throw Bad("spatial=0 is not supported");
                    if (opset >= 14 && Int("training_mode", 0) != 0) throw Bad("training_mode=1 is not supported");
                    return Node(OpSet.BatchNorm, new BatchNormAttrs(false, Float("epsilon", 1e-5f)), In(0), In(1), In(2), In(3), In(4));
                case "MaxPool":
                {
                    var k = Ints("kernel_shape") ?? throw Bad("kernel_shape is required");
                    if (k.Length != 2) throw Bad("only 2-D pooling is supported");
                    if (Int("storage_order", 0) != 0) throw Bad("storage_order=1 is not supported");
                    long[] stride = Fill(Ints("strides"), 2, 1), dil = Fill(Ints("dilations"), 2, 1);
                    bool ceil = Int("ceil_mode", 0) != 0;
                    var pads = Pads(2);
                    if (ceil && !pads.Begin.SequenceEqual(pads.End)) throw Bad("ceil_mode=1 with asymmetric pads is not supported");
                    var span = Enumerable.Range(0, 2).Select(i => dil[i] * (k[i] - 1) + 1).ToArray();
                    return Windowed(In(0), span, stride, pads, pad => Node(OpSet.MaxPool2d, new MaxPool2dAttrs(k, stride, pad, dil, ceil), In(0)));
                }
                case "AveragePool":
                {
                    var k = Ints("kernel_shape") ?? throw Bad("kernel_shape is required");
                    if (k.Length != 2) throw Bad("only 2-D pooling is supported");
                    if (Int("ceil_mode", 0) != 0) throw Bad("ceil_mode=1 is not supported");
                    var stride = Fill(Ints("strides"), 2, 1);
                    bool include = Int("count_include_pad", 0) != 0;
                    var pads = Pads(2);
                    // With count_include_pad the divisor of a border window would count the extra symmetric padding.
                    if (include && !pads.Begin.SequenceEqual(pads.End)) throw Bad("count_include_pad=1 with asymmetric pads is not supported");
                    return Windowed(In(0), k, stride, pads, pad => Node(OpSet.AvgPool2d, new AvgPool2dAttrs(k, stride, pad, include), In(0)));
                }
                case "GlobalAveragePool":
                    if (In(0).Spec.Shape.Rank != 4) throw Bad("only rank-4 inputs are supported");
                    return Node(OpSet.AdaptiveAvgPool2d, new AdaptivePool2dAttrs(1, 1), In(0));
                case "MatMul":
                    if (In(0).Spec.Shape.Rank < 2 || In(1).Spec.Shape.Rank < 2) throw Bad("1-D operands are not supported");
                    return Node(OpSet.MatMul, OpAttrs.None, In(0), In(1));
                case "Gemm":
                {
                    Value a = In(0), b = In(1);
                    double alpha = Float("alpha", 1), beta = Float("beta", 1);
                    if (Int("transA", 0) != 0) a = Node(OpSet.Permute, new PermuteAttrs([1, 0]), a);
                    bool tb = Int("transB", 0) != 0;
                    Value y;
                    if (tb && alpha == 1 && beta == 1 && Has(2) && In(2).Spec.Shape.Rank == 1 && In(2).Spec.Shape[0] == b.Spec.Shape[0])
                        return Node(OpSet.Linear, OpAttrs.None, a, b, In(2));
                    if (tb) b = Node(OpSet.Permute, new PermuteAttrs([1, 0]), b);
                    y = Node(OpSet.MatMul, OpAttrs.None, a, b);
                    if (alpha != 1) y = Node(OpSet.Mul, OpAttrs.None, y, Scalar(alpha, y.Spec.DType));
                    if (!Has(2) || beta == 0) return y;
                    var c = In(2);
                    if (beta != 1) c = Node(OpSet.Mul, OpAttrs.None, c, Scalar(beta, c.Spec.DType));
                    return Node(OpSet.Add, OpAttrs.None, y, c);
                }
                case "Flatten":
                {
                    var x = In(0);
                    var d = x.Spec.Shape.ToArray();
                    int axis = (int)Int("axis", 1);
                    if (axis < 0) axis += d.Length;
                    if (axis < 0 || axis > d.Length) throw Bad($"axis {Int("axis", 1)} is out of range for rank {d.Length}");
                    long outer = d[..axis].Aggregate(1L, (p, v) => p * v), inner = d[axis..].Aggregate(1L, (p, v) => p * v);
                    return Reshape(x, [outer, inner]);
                }
                case "Reshape":
                {
                    var x = In(0);
                    var shape = opset < 5 ? Ints("shape")! : ConstInts(1);
                    var d = x.Spec.Shape.ToArray();
                    bool allowZero = Int("allowzero", 0) != 0;
                    var res = new long[shape.Length];
                    int infer = -1;
                    long known = 1;
                    for (int i = 0; i < shape.Length; i++)
                    {
                        long s = shape[i];
                        if (s == 0 && !allowZero)
                        {
                            if (i >= d.Length) throw Bad($"shape entry {i} is 0 (copy) but the input has rank {d.Length}");
                            s = d[i];
                        }
                        if (s == -1)
                        {
                            if (infer >= 0) throw Bad("more than one -1 in the shape");
                            infer = i;
                            continue;
                        }
                        if (s < 0) throw Bad($"invalid shape entry {s}");
                        res[i] = s;
                        known *= s;
                    }
                    long total = x.Spec.Shape.NumElements;
                    if (infer >= 0)
                    {
                        if (known == 0 || total % known != 0) throw Bad($"cannot infer -1: {total} elements into [{string.Join(", ", shape)}]");
                        res[infer] = total / known;
                    }
                    return Reshape(x, res);
                }
                case "Softmax":
                {
                    var x = In(0);
                    int rank = x.Spec.Shape.Rank;
                    if (opset >= 13) return Node(OpSet.Softmax, new SoftmaxAttrs(Axis(Int("axis", -1), rank)), x);
                    // Before opset 13, Softmax flattens to 2-D at `axis` and normalises each row.
                    int axis = Axis(Int("axis", 1), rank);
                    if (axis == rank - 1) return Node(OpSet.Softmax, new SoftmaxAttrs(axis), x);
                    var d = x.Spec.Shape.ToArray();
                    var flat = Reshape(x, [d[..axis].Aggregate(1L, (p, v) => p * v), d[axis..].Aggregate(1L, (p, v) => p * v)]);
                    return Reshape(Node(OpSet.Softmax, new SoftmaxAttrs(1), flat), d);
                }
                case "Concat":
                {
                    var ins = Enumerable.Range(0, _n.Input.Count).Where(Has).Select(In).ToArray();
                    if (Attr("axis") == null) throw Bad("axis is required");
                    return Node(OpSet.Concat, new ConcatAttrs(Axis(Int("axis", 0), ins[0].Spec.Shape.Rank)), ins);
                }
                case "Transpose":
                {
                    var x = In(0);
                    int rank = x.Spec.Shape.Rank;
                    var perm = Ints("perm")?.Select(p => (int)p).ToArray() ?? Enumerable.Range(0, rank).Reverse().ToArray();
                    return Node(OpSet.Permute, new PermuteAttrs(perm), x);
                }
                case "ReduceMean" or "ReduceSum":
                {
                    var x = In(0);
                    int rank = x.Spec.Shape.Rank;
                    long[]? axes = op == "ReduceSum" && opset >= 13 ? (Has(1) ? ConstInts(1) : null) : Ints("axes");
                    if ((axes == null || axes.Length == 0) && Int("noop_with_empty_axes", 0) != 0) return x;
                    var ax = (axes ?? []).Select(a => Axis(a, rank)).Distinct().Order().ToArray();
                    return Node(op == "ReduceSum" ? OpSet.Sum : OpSet.Mean, new ReduceAttrs(ax, Int("keepdims", 1) != 0), x);
                }
                case "Unsqueeze":
                {
                    var x = In(0);
                    var axes = opset >= 13 ? ConstInts(1) : Ints("axes") ?? throw Bad("axes is required");
                    int outRank = x.Spec.Shape.Rank + axes.Length;
                    var set = axes.Select(a => Axis(a, outRank)).ToHashSet();
                    if (set.Count != axes.Length) throw Bad("repeated axes");
                    var d = x.Spec.Shape.ToArray();
                    var res = new long[outRank];
                    for (int i = 0, j = 0; i < outRank; i++) res[i] = set.Contains(i) ? 1 : d[j++];
                    return Reshape(x, res);
                }
                case "Squeeze":
                {
                    var x = In(0);
                    var d = x.Spec.Shape.ToArray();
                    var axes = opset >= 13 ? (Has(1) ? ConstInts(1) : null) : Ints("axes");
                    var set = axes == null ? Enumerable.Range(0, d.Length).Where(i => d[i] == 1).ToHashSet() : axes.Select(a => Axis(a, d.Length)).ToHashSet();
                    foreach (var a in set) if (d[a] != 1) throw Bad($"cannot squeeze axis {a} of size {d[a]}");
                    return Reshape(x, d.Where((_, i) => !set.Contains(i)).ToArray());
                }
                case "Constant":
                {
                    TensorSpec spec;
                    byte[] data;
                    if (Attr("value") is { } v) (spec, data) = TensorData.Read(v.T, options, null);
                    else if (Attr("value_float") is { } f) (spec, data) = (new TensorSpec(Shape.Scalar, DType.Float32), BitConverter.GetBytes(f.F));
                    else if (Attr("value_int") is { } i) (spec, data) = (new TensorSpec(Shape.Scalar, DType.Int64), BitConverter.GetBytes(i.I));
                    else if (Attr("value_floats") is { } fs) (spec, data) = (new TensorSpec(new Shape((long)fs.Floats.Count), DType.Float32), fs.Floats.SelectMany(BitConverter.GetBytes).ToArray());
                    else if (Attr("value_ints") is { } @is) (spec, data) = (new TensorSpec(new Shape((long)@is.Ints.Count), DType.Int64), @is.Ints.SelectMany(BitConverter.GetBytes).ToArray());
                    else throw Bad("only value, value_float(s) and value_int(s) are supported");
                    ConstData[_n.Output[0]] = (spec, data);
                    return Graph.AddConstant(spec, data, _n.Output[0]);
                }
                default: throw Bad("unsupported op"); // filtered earlier
            }
        }
    }
}
