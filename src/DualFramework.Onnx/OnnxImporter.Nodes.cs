using DualFramework.IR;
using DualFramework.Onnx.Proto;
using DualFramework.Operators;
using DualFramework.Losses;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "Conv", "BatchNormalization", "Relu", "Add", "Sub", "Mul", "Div", "MaxPool", "AveragePool", "GlobalAveragePool",
        "Gemm", "MatMul", "Flatten", "Reshape", "Sigmoid", "Tanh", "Softmax", "Concat", "Identity", "Dropout", "Transpose",
        "Clip", "LeakyRelu", "Exp", "Log", "Sqrt", "Neg", "Abs", "Pow", "ReduceMean", "ReduceSum", "Unsqueeze", "Squeeze", "Constant",
        "Cast", "ReduceMax", "ReduceMin", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
        "ArgMax", "ArgMin", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "Where",
        "Min", "Max", "Sum", "Mean", "Reciprocal", "Softplus", "Softsign", "HardSigmoid", "HardSwish", "Elu", "Selu", "Celu",
        "ThresholdedRelu", "PRelu", "Erf", "Sign", "Shape", "ConstantOfShape", "Slice", "LogSoftmax", "Gather", "GatherElements",
        "Expand", "Split", "LayerNormalization", "SoftmaxCrossEntropyLoss", "NegativeLogLikelihoodLoss", "ConvTranspose",
    };

    /// <summary>Maps ONNX nodes onto graph nodes, tracking ONNX value names.</summary>
    private sealed class Builder(OnnxImportOptions options, int opset, IReadOnlySet<string> needed)
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

        // Our pooling ops accept at most half the kernel as padding.
        private static void CheckPoolPads((long[] Begin, long[] End) pads, long[] k, Func<string, OnnxImportException> bad)
        {
            for (int i = 0; i < k.Length; i++)
                if (Math.Max(pads.Begin[i], pads.End[i]) > k[i] / 2)
                    throw bad($"pads larger than half the kernel ({k[i]}) along spatial axis {i} are not supported");
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

        // Outputs after the first that a mapping produces (e.g. pooling indices, Split parts).
        private readonly List<Value> _more = [];

        public void Import(NodeProto n)
        {
            _n = n;
            _more.Clear();
            if (n.Output.Count == 0) throw Bad("has no outputs");
            Value result = Map(n.OpType);
            Values[n.Output[0]] = result;
            for (int i = 1; i < n.Output.Count; i++)
            {
                var name = n.Output[i];
                if (name == "") continue;
                if (i - 1 < _more.Count) Values[name] = _more[i - 1];
                else if (needed.Contains(name)) throw Bad($"output {i} ('{name}') is not supported");
            }
        }

        private Value Un(Op op, Value x) => Node(op, OpAttrs.None, x);
        private Value Bin(Op op, Value a, Value b) => Node(op, OpAttrs.None, a, b);
        private Value Sc(double v, Value like) => Scalar(v, like.Spec.DType);

        private Value Float(Value x)
        {
            if (!x.Spec.DType.IsFloating()) throw Bad($"{x.Spec.DType.Name()} inputs are not supported (floating only)");
            return x;
        }

        private Value Const(TensorSpec spec, byte[] data)
        {
            ConstData[_n.Output[0]] = (spec, data);
            return Graph.AddConstant(spec, data, _n.Output[0]);
        }

        // ONNX indices may be negative (counted from the end).
        private Value WrapIndex(Value idx, long size)
        {
            if (!idx.Spec.DType.IsInteger()) throw Bad($"{idx.Spec.DType.Name()} indices are not supported");
            var neg = Bin(OpSet.Less, idx, Sc(0, idx));
            return Node(OpSet.Where, OpAttrs.None, neg, Bin(OpSet.Add, idx, Sc(size, idx)), idx);
        }

        private Value[] Inputs() => Enumerable.Range(0, _n.Input.Count).Where(Has).Select(In).ToArray();

        private Value Reduce(Op op, Value x)
        {
            int rank = x.Spec.Shape.Rank;
            long[]? axes = Ints("axes");
            if ((axes == null || axes.Length == 0) && Int("noop_with_empty_axes", 0) != 0) return x;
            var ax = (axes ?? []).Select(a => Axis(a, rank)).Distinct().Order().ToArray();
            return Node(op, new ReduceAttrs(ax, Int("keepdims", 1) != 0), x);
        }

        private Value MapMore(string op)
        {
            switch (op)
            {
                case "Cast":
                {
                    var to = TensorData.DTypeOf((int)Int("to", 0), Where + " target type");
                    var x = In(0);
                    return x.Spec.DType == to ? x : Node(OpSet.Cast, new CastAttrs(to), x);
                }
                case "ReduceMax": return Reduce(OpSet.Max, In(0));
                case "ReduceMin": return Reduce(OpSet.Min, In(0));
                case "ReduceSumSquare": { var x = In(0); return Reduce(OpSet.Sum, Bin(OpSet.Mul, x, x)); }
                case "ReduceL1": { var x = In(0); return Reduce(OpSet.Sum, Un(OpSet.Abs, x)); }
                case "ReduceL2": { var x = Float(In(0)); return Un(OpSet.Sqrt, Reduce(OpSet.Sum, Bin(OpSet.Mul, x, x))); }
                case "ReduceLogSum": return Un(OpSet.Log, Reduce(OpSet.Sum, Float(In(0))));
                case "ReduceLogSumExp": return Un(OpSet.Log, Reduce(OpSet.Sum, Un(OpSet.Exp, Float(In(0)))));
                case "ArgMax" or "ArgMin":
                {
                    if (Int("select_last_index", 0) != 0) throw Bad("select_last_index=1 is not supported");
                    var x = In(0);
                    return Node(op == "ArgMax" ? OpSet.ArgMax : OpSet.ArgMin, new ArgReduceAttrs(Axis(Int("axis", 0), x.Spec.Shape.Rank), Int("keepdims", 1) != 0), x);
                }
                case "Equal": return Bin(OpSet.Equal, In(0), In(1));
                case "Less": return Bin(OpSet.Less, In(0), In(1));
                case "Greater": return Bin(OpSet.Greater, In(0), In(1));
                case "LessOrEqual": return Bin(OpSet.LessEqual, In(0), In(1));
                case "GreaterOrEqual": return Bin(OpSet.GreaterEqual, In(0), In(1));
                case "Not": return Un(OpSet.LogicalNot, In(0));
                case "And": return Bin(OpSet.LogicalAnd, In(0), In(1));
                case "Or": return Bin(OpSet.LogicalOr, In(0), In(1));
                case "Xor": return Bin(OpSet.LogicalXor, In(0), In(1));
                case "Where": return Node(OpSet.Where, OpAttrs.None, In(0), In(1), In(2));
                case "Min" or "Max" or "Sum" or "Mean":
                {
                    var xs = Inputs();
                    if (xs.Length == 0) throw Bad("needs at least one input");
                    var f = op switch { "Min" => OpSet.Minimum, "Max" => OpSet.Maximum, _ => (Op)OpSet.Add };
                    var y = xs[0];
                    for (int i = 1; i < xs.Length; i++) y = Bin(f, y, xs[i]);
                    if (op == "Mean" && xs.Length > 1) y = Bin(OpSet.Div, Float(y), Sc(xs.Length, y));
                    return y;
                }
                case "Reciprocal": { var x = Float(In(0)); return Bin(OpSet.Div, Sc(1, x), x); }
                case "Softplus": return Node(OpSet.Softplus, new SoftplusAttrs(1, 20), Float(In(0)));
                case "Softsign": { var x = Float(In(0)); return Bin(OpSet.Div, x, Bin(OpSet.Add, Sc(1, x), Un(OpSet.Abs, x))); }
                case "HardSigmoid" or "HardSwish":
                {
                    var x = Float(In(0));
                    double alpha = op == "HardSwish" ? 1.0 / 6 : Float("alpha", 0.2f), beta = op == "HardSwish" ? 0.5 : Float("beta", 0.5f);
                    var h = Node(OpSet.Clamp, new ClampAttrs(0, 1), Bin(OpSet.Add, Bin(OpSet.Mul, x, Sc(alpha, x)), Sc(beta, x)));
                    return op == "HardSwish" ? Bin(OpSet.Mul, x, h) : h;
                }
                case "Elu" or "Selu" or "Celu":
                {
                    var x = Float(In(0));
                    double alpha = Float("alpha", op == "Selu" ? 1.67326319217681884765625f : 1f);
                    // Negative branch alpha*(exp(x/alpha' ) - 1); Celu scales the exponent by 1/alpha.
                    var e = Un(OpSet.Exp, op == "Celu" ? Bin(OpSet.Div, x, Sc(alpha, x)) : x);
                    var neg = Bin(OpSet.Mul, Bin(OpSet.Sub, e, Sc(1, x)), Sc(alpha, x));
                    var y = Node(OpSet.Where, OpAttrs.None, Bin(OpSet.Greater, x, Sc(0, x)), x, neg);
                    return op == "Selu" ? Bin(OpSet.Mul, y, Sc(Float("gamma", 1.05070102214813232421875f), y)) : y;
                }
                case "ThresholdedRelu":
                {
                    var x = Float(In(0));
                    return Node(OpSet.Where, OpAttrs.None, Bin(OpSet.Greater, x, Sc(Float("alpha", 1f), x)), x, Sc(0, x));
                }
                case "PRelu":
                {
                    var x = Float(In(0));
                    var slope = In(1);
                    return Node(OpSet.Where, OpAttrs.None, Bin(OpSet.Less, x, Sc(0, x)), Bin(OpSet.Mul, x, slope), x);
                }
                case "Erf": return Un(OpSet.Erf, Float(In(0)));
                case "Shape":
                {
                    // Shapes are static after import: fold to an int64 constant.
                    var d = In(0).Spec.Shape.ToArray();
                    int r = d.Length;
                    long start = opset >= 15 ? Int("start", 0) : 0, end = opset >= 15 ? Int("end", r) : r;
                    start = Math.Clamp(start < 0 ? start + r : start, 0, r);
                    end = Math.Clamp(end < 0 ? end + r : end, start, r);
                    var dims = d[(int)start..(int)end];
                    return Const(new TensorSpec(new Shape((long)dims.Length), DType.Int64), dims.SelectMany(BitConverter.GetBytes).ToArray());
                }
                case "ConstantOfShape":
                {
                    var dims = ConstInts(0);
                    TensorData.CheckDims(dims, options, Where);
                    var (vs, vd) = Attr("value") is { } v ? TensorData.Read(v.T, options, null) : (new TensorSpec(Shape.Scalar, DType.Float32), new byte[4]);
                    if (vs.Shape.NumElements != 1) throw Bad("value must have one element");
                    long n = dims.Aggregate(1L, (p, x) => p * x);
                    var data = new byte[n * vd.Length];
                    for (long i = 0; i < n; i++) vd.CopyTo(data, i * vd.Length);
                    return Const(new TensorSpec(new Shape(dims), vs.DType), data);
                }
                case "Slice":
                {
                    var x = In(0);
                    var d = x.Spec.Shape.ToArray();
                    long[] starts, ends;
                    long[]? axes, steps = null;
                    if (opset < 10) { starts = Ints("starts") ?? throw Bad("starts is required"); ends = Ints("ends") ?? throw Bad("ends is required"); axes = Ints("axes"); }
                    else { starts = ConstInts(1); ends = ConstInts(2); axes = Has(3) ? ConstInts(3) : null; steps = Has(4) ? ConstInts(4) : null; }
                    axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
                    steps ??= Enumerable.Repeat(1L, starts.Length).ToArray();
                    if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length) throw Bad("starts, ends, axes and steps differ in length");
                    var ax = axes.Select(a => Axis(a, d.Length)).ToArray();
                    var b = new long[ax.Length];
                    var e = new long[ax.Length];
                    for (int i = 0; i < ax.Length; i++)
                    {
                        if (steps[i] < 1) throw Bad($"step {steps[i]} is not supported (positive steps only)");
                        long size = d[ax[i]];
                        long Norm(long v) => Math.Clamp(v < 0 ? v + size : v, 0, size);
                        b[i] = Norm(starts[i]);
                        e[i] = Math.Max(b[i], Norm(ends[i]));
                    }
                    return Node(OpSet.Slice, new SliceAttrs(ax, b, e, steps), x);
                }
                case "Gather":
                {
                    var x = In(0);
                    int axis = Axis(Int("axis", 0), x.Spec.Shape.Rank);
                    return Node(OpSet.Take, new TakeAttrs(axis), x, WrapIndex(In(1), x.Spec.Shape[axis]));
                }
                case "GatherElements":
                {
                    var x = In(0);
                    int axis = Axis(Int("axis", 0), x.Spec.Shape.Rank);
                    var idx = In(1);
                    if (idx.Spec.DType != DType.Int64) idx = Node(OpSet.Cast, new CastAttrs(DType.Int64), idx);
                    return Node(OpSet.GatherElements, new IndexAxisAttrs(axis), x, WrapIndex(idx, x.Spec.Shape[axis]));
                }
                case "Expand":
                {
                    var x = In(0);
                    var want = ConstInts(1);
                    var d = x.Spec.Shape.ToArray();
                    int r = Math.Max(d.Length, want.Length);
                    var res = new long[r];
                    for (int i = 0; i < r; i++)
                    {
                        long a = i - (r - d.Length) >= 0 ? d[i - (r - d.Length)] : 1, w = i - (r - want.Length) >= 0 ? want[i - (r - want.Length)] : 1;
                        if (a != w && a != 1 && w != 1) throw Bad($"shape [{string.Join(", ", want)}] does not broadcast with the input shape {x.Spec.Shape}");
                        res[i] = a == 1 ? w : a;
                    }
                    return res.SequenceEqual(d) ? x : Node(OpSet.BroadcastTo, new ShapeAttrs(res), x);
                }
                case "Split":
                {
                    var x = In(0);
                    int axis = Axis(Int("axis", 0), x.Spec.Shape.Rank);
                    long size = x.Spec.Shape[axis];
                    var sizes = opset >= 13 ? (Has(1) ? ConstInts(1) : null) : Ints("split");
                    if (sizes == null || sizes.Length == 0)
                    {
                        int parts = _n.Output.Count;
                        if (size % parts != 0) throw Bad($"axis size {size} does not split evenly into {parts} outputs");
                        sizes = Enumerable.Repeat(size / parts, parts).ToArray();
                    }
                    if (sizes.Length != _n.Output.Count) throw Bad($"{sizes.Length} split sizes for {_n.Output.Count} outputs");
                    Value[] ys;
                    try { ys = Graph.AddNode(OpSet.Split, new SplitAttrs(axis, sizes), [x], _n.Name); }
                    catch (OpException e) { throw Bad(e.Message); }
                    _more.AddRange(ys[1..]);
                    return ys[0];
                }
                case "LayerNormalization":
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
                        var red = new ReduceAttrs(Enumerable.Range(axis, rank - axis).ToArray(), true);
                        var mean = Node(OpSet.Mean, red, x);
                        var c = Bin(OpSet.Sub, x, mean);
                        var v = Node(OpSet.Mean, red, Bin(OpSet.Mul, c, c));
                        _more.Add(mean);
                        _more.Add(Bin(OpSet.Div, Sc(1, v), Un(OpSet.Sqrt, Bin(OpSet.Add, v, Sc(eps, v)))));
                    }
                    return y;
                }
                case "Sign": return Un(OpSet.Sign, In(0));
                case "SoftmaxCrossEntropyLoss":
                {
                    var (x, t, w, ii, red) = LossInputs();
                    var attrs = new CrossEntropyAttrs(ii, 0, red);
                    var loss = w == null ? Node(OpSet.CrossEntropy, attrs, x, t) : Node(OpSet.CrossEntropy, attrs, x, t, w);
                    _more.Add(Node(OpSet.LogSoftmax, new SoftmaxAttrs(1), x));
                    return loss;
                }
                case "NegativeLogLikelihoodLoss":
                {
                    // Built from ops rather than LossFunctions.Nll: target values are run-time data here, so they cannot be
                    // range-checked at import; OneHot reports out-of-range targets when the graph runs.
                    var (x, t, w, ii, red) = LossInputs();
                    long c = x.Spec.Shape[1];
                    var ignored = Bin(OpSet.Equal, t, Sc(ii, t));
                    var safe = Node(OpSet.Where, OpAttrs.None, ignored, Sc(0, t), t);
                    var onehot = Node(OpSet.OneHot, new OneHotAttrs(c, x.Spec.DType), safe);               // [N, C]
                    var rows = new ReduceAttrs([1], false);
                    var picked = Node(OpSet.Sum, rows, Bin(OpSet.Mul, onehot, x));                        // x[i, y_i]
                    var valid = Node(OpSet.Cast, new CastAttrs(x.Spec.DType), Un(OpSet.LogicalNot, ignored));
                    var wy = w == null ? valid : Bin(OpSet.Mul, Node(OpSet.Sum, rows, Bin(OpSet.Mul, onehot, w)), valid);
                    var loss = Un(OpSet.Neg, Bin(OpSet.Mul, picked, wy));
                    var all = new ReduceAttrs([0], false);
                    return red switch
                    {
                        Reduction.None => loss,
                        Reduction.Sum => Node(OpSet.Sum, all, loss),
                        _ => Bin(OpSet.Div, Node(OpSet.Sum, all, loss), Node(OpSet.Sum, all, wy)),
                    };
                }
                case "ConvTranspose":
                {
                    var x = Float(In(0));
                    int sp = x.Spec.Shape.Rank - 2;
                    if (sp is not (1 or 2)) throw Bad($"only 1-D and 2-D transposed convolutions are supported, the input has rank {x.Spec.Shape.Rank}");
                    var w = In(1);
                    if (w.Spec.Shape.Rank != sp + 2) throw Bad($"weight must have rank {sp + 2}, got {w.Spec.Shape}");
                    var auto = Str("auto_pad", "NOTSET");
                    if (auto is not ("NOTSET" or "VALID" or "")) throw Bad($"auto_pad {auto} is not supported (only NOTSET and VALID)");
                    long[] stride = Fill(Ints("strides"), sp, 1), dil = Fill(Ints("dilations"), sp, 1), outPad = Fill(Ints("output_padding"), sp, 0);
                    if (stride.Length != sp || dil.Length != sp || outPad.Length != sp) throw Bad($"strides, dilations and output_padding need {sp} entries");
                    var k = w.Spec.Shape.ToArray()[2..];
                    if (Ints("kernel_shape") is { } ks && !ks.SequenceEqual(k)) throw Bad($"kernel_shape [{string.Join(", ", ks)}] differs from the weight's [{string.Join(", ", k)}]");
                    var p = auto == "VALID" ? new long[2 * sp] : Fill(Ints("pads"), 2 * sp, 0);
                    if (p.Length != 2 * sp) throw Bad($"pads needs {2 * sp} entries, got {p.Length}");
                    if (!p[..sp].SequenceEqual(p[sp..])) throw Bad($"asymmetric pads [{string.Join(", ", p)}] are not supported");
                    var attrs = new ConvTransposeAttrs(stride, p[..sp], outPad, dil, Int("group", 1));
                    var y = Has(2) ? Node(OpSet.ConvTranspose, attrs, x, w, In(2)) : Node(OpSet.ConvTranspose, attrs, x, w);
                    // output_shape would need extra (asymmetric) padding; accept it only when it names the default size.
                    if (Ints("output_shape") is { } os)
                    {
                        var got = y.Spec.Shape.ToArray();
                        var want = os.Length == sp ? os : os.Length == sp + 2 ? os[2..] : throw Bad($"output_shape needs {sp} entries, got {os.Length}");
                        if (!want.SequenceEqual(got[2..])) throw Bad($"output_shape [{string.Join(", ", os)}] differs from the default output size [{string.Join(", ", got[2..])}] and is not supported");
                    }
                    return y;
                }
                default: throw Bad("unsupported op"); // filtered earlier
            }
        }

        // Shared inputs of the ONNX loss ops: [N, C] scores, int targets [N] (cast to int64), optional weights [C].
        private (Value X, Value T, Value? W, long IgnoreIndex, Reduction Reduction) LossInputs()
        {
            var x = Float(In(0));
            if (x.Spec.Shape.Rank != 2) throw Bad($"rank-{x.Spec.Shape.Rank} inputs are not supported (only [N, C])");
            var t = In(1);
            if (!t.Spec.DType.IsInteger()) throw Bad($"{t.Spec.DType.Name()} targets are not supported");
            if (t.Spec.DType != DType.Int64) t = Node(OpSet.Cast, new CastAttrs(DType.Int64), t);
            if (t.Spec.Shape.Rank != 1 || t.Spec.Shape[0] != x.Spec.Shape[0]) throw Bad($"targets must have shape [{x.Spec.Shape[0]}], got {t.Spec.Shape}");
            var w = Has(2) ? In(2) : null;
            if (w != null && (w.Spec.DType != x.Spec.DType || w.Spec.Shape.Rank != 1 || w.Spec.Shape[0] != x.Spec.Shape[1]))
                throw Bad($"weights must be {x.Spec.DType.Name()}[{x.Spec.Shape[1]}], got {w.Spec.DType.Name()}{w.Spec.Shape}");
            // Without the attribute no target is ignored; a value outside every valid class index stands in for "none".
            long ii = Attr("ignore_index") is { } a ? a.I : long.MinValue;
            var red = Str("reduction", "mean") switch
            {
                "mean" => Reduction.Mean,
                "sum" => Reduction.Sum,
                "none" => Reduction.None,
                var r => throw Bad($"reduction '{r}' is not supported (mean, sum or none)"),
            };
            return (x, t, w, ii, red);
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
                case "Div": return Node(OpSet.Div, OpAttrs.None, Float(In(0)), In(1));
                case "Pow":
                {
                    Value a = Float(In(0)), b = In(1);
                    if (b.Spec.DType != a.Spec.DType) b = Node(OpSet.Cast, new CastAttrs(a.Spec.DType), b);
                    return Node(OpSet.Pow, OpAttrs.None, a, b);
                }
                case "Identity": return In(0);
                case "Dropout":
                {
                    // Inference only: a training_mode input must be a constant false (opset >= 12).
                    bool zeroRatio = opset >= 12 && Has(1) && ConstData.ContainsKey(_n.Input[1]) && ConstScalar(1) == 0;
                    if (opset >= 12 && Has(2) && !zeroRatio && (!ConstData.TryGetValue(_n.Input[2], out var tm) || tm.Data.Any(v => v != 0)))
                        throw Bad("training_mode that is not a constant false is not supported");
                    var x = In(0);
                    // In inference the mask keeps everything.
                    if (_n.Output.Count > 1 && needed.Contains(_n.Output[1]))
                        _more.Add(Graph.AddConstant(new TensorSpec(x.Spec.Shape, DType.Bool), Enumerable.Repeat((byte)1, (int)x.Spec.Shape.NumElements).ToArray()));
                    return x;
                }
                case "Clip":
                {
                    double lo = double.NegativeInfinity, hi = double.PositiveInfinity;
                    var x = In(0);
                    if (opset < 11) { lo = Float("min", float.NegativeInfinity); hi = Float("max", float.PositiveInfinity); }
                    else
                    {
                        // Constant bounds fold into clamp; bounds computed at run time become maximum / minimum.
                        if (Has(1) && !ConstData.ContainsKey(_n.Input[1])) x = Bin(OpSet.Maximum, x, In(1));
                        else lo = ConstScalar(1) ?? lo;
                        if (Has(2) && !ConstData.ContainsKey(_n.Input[2])) x = Bin(OpSet.Minimum, x, In(2));
                        else hi = ConstScalar(2) ?? hi;
                    }
                    return double.IsInfinity(lo) && double.IsInfinity(hi) && opset >= 11 && x != In(0) ? x : Node(OpSet.Clamp, new ClampAttrs(lo, hi), x);
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
                    CheckPoolPads(pads, k, Bad);
                    Float(In(0));
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
                    CheckPoolPads(pads, k, Bad);
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
                    var flat = Reshape(x, [d[..axis].Aggregate(1L, (p, v) => p * v), d[axis..].Aggregate(1L, (p, v) => p * v)]);
                    return Reshape(Node(sm, new SoftmaxAttrs(1), flat), d);
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
                default: return MapMore(op);
            }
        }
    }
}
