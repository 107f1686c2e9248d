using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>Batch, instance and layer normalization, and Dropout (identity at inference).</summary>
        private void AddNorm()
        {
            Map("BatchNormalization", _ => BatchNorm());
            Map("InstanceNormalization", _ =>
            {
                var x = Float(In(0));
                int rank = x.Spec.Shape.Rank;
                if (rank < 3) throw Bad($"input must have rank ≥ 3 ([N, C, ...]), got {x.Spec.Shape}");
                var (mean, v) = Moments(x, Enumerable.Range(2, rank - 2).ToArray());
                return Normalize(x, mean, v, Float("epsilon", 1e-5f), PerChannel(In(1), rank), PerChannel(In(2), rank));
            });
            Map("LayerNormalization", _ => LayerNorm());
            Map("Dropout", _ => Dropout());
            Map("MeanVarianceNormalization", _ =>
            {
                var x = Float(In(0));
                int rank = x.Spec.Shape.Rank;
                var axes = (Ints("axes") ?? [0, 2, 3]).Select(a => Axis(a, rank)).Distinct().Order().ToArray();
                // ONNX's function body: (x − E[x]) / (sqrt(E[x²] − E[x]²) + 1e-9); the centred second moment is that variance.
                var (mean, v) = Moments(x, axes);
                return Bin(OpSet.Div, Bin(OpSet.Sub, x, mean), Bin(OpSet.Add, Un(OpSet.Sqrt, v), Sc(1e-9, v)));
            });
            Map("LRN", _ => LocalResponseNorm());
        }

        /// <summary>LRN: x / (bias + alpha/size · Σ x²)^beta, the sum over channels c − ⌊(size−1)/2⌋ … c + ⌈(size−1)/2⌉
        /// (clipped to the channels that exist): the squares padded with zeros along the channel axis and summed over
        /// <c>size</c> shifted slices.</summary>
        private Value LocalResponseNorm()
        {
            var x = Float(In(0));
            var d = x.Spec.Shape.ToArray();
            if (d.Length < 3) throw Bad($"input must have rank ≥ 3 ([N, C, ...]), got {x.Spec.Shape}");
            long size = Int("size", 0);
            if (size < 1) throw Bad($"size {size} must be at least 1");
            double alpha = Float("alpha", 1e-4f), beta = Float("beta", 0.75f), bias = Float("bias", 1f);
            long before = (size - 1) / 2, after = size - 1 - before;
            var begin = new long[d.Length];
            var end = new long[d.Length];
            (begin[1], end[1]) = (before, after);
            var sq = Node(OpSet.Pad, new PadAttrs(begin, end, PadMode.Constant, 0), Bin(OpSet.Mul, x, x));
            Value? sum = null;
            for (long k = 0; k < size; k++)
            {
                var part = Node(OpSet.Slice, new SliceAttrs([1], [k], [k + d[1]], [1]), sq);
                sum = sum == null ? part : Bin(OpSet.Add, sum, part);
            }
            var scale = Bin(OpSet.Add, Bin(OpSet.Mul, sum!, Sc(alpha / size, x)), Sc(bias, x));
            return Bin(OpSet.Div, x, Bin(OpSet.Pow, scale, Sc(beta, x)));
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
                _more.Add(Filled(x.Spec.Shape.ToArray(), 1, opset < 10 ? x.Spec.DType : DType.Bool)); // the mask was T before opset 10
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
    }
}
