using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>Reshaping, transposing, joining, slicing and gathering. Shape-like operands (Reshape's shape,
        /// Unsqueeze/Squeeze axes, Slice starts/ends/axes/steps, Expand's shape, Split sizes, Tile repeats, Trilu's k) must be
        /// known while building: constants, values computed from constants, or model inputs used as shape inputs.</summary>
        private void AddShape()
        {
            Map("Flatten", _ =>
            {
                var x = In(0);
                var d = x.Spec.Shape.ToArray();
                int axis = (int)Int("axis", 1);
                if (axis < 0) axis += d.Length;
                if (axis < 0 || axis > d.Length) throw Bad($"axis {Int("axis", 1)} is out of range for rank {d.Length}");
                return Reshape(x, [Prod(d[..axis]), Prod(d[axis..])]);
            });
            Map("Reshape", _ =>
            {
                var x = In(0);
                var shape = opset < 5 ? Ints("shape") ?? throw Bad("shape is required") : ConstInts(1);
                return Reshape(x, ReshapeTarget(x.Spec.Shape.ToArray(), shape, Int("allowzero", 0) != 0));
            });
            Map("Transpose", _ =>
            {
                var x = In(0);
                int rank = x.Spec.Shape.Rank;
                var perm = Ints("perm")?.Select(p => (int)p).ToArray() ?? Enumerable.Range(0, rank).Reverse().ToArray();
                return Node(OpSet.Permute, new PermuteAttrs(perm), x);
            });
            Map("Concat", _ =>
            {
                var ins = Inputs();
                if (ins.Length == 0) throw Bad("needs at least one input");
                if (Attr("axis") == null) throw Bad("axis is required");
                return ins.Length == 1 ? ins[0] : Node(OpSet.Concat, new ConcatAttrs(Axis(Int("axis", 0), ins[0].Spec.Shape.Rank)), ins);
            });
            Map("Unsqueeze", _ =>
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
            });
            Map("Squeeze", _ =>
            {
                var x = In(0);
                var d = x.Spec.Shape.ToArray();
                var axes = opset >= 13 ? (Has(1) ? ConstInts(1) : null) : Ints("axes");
                var set = axes == null ? Enumerable.Range(0, d.Length).Where(i => d[i] == 1).ToHashSet() : axes.Select(a => Axis(a, d.Length)).ToHashSet();
                foreach (var a in set) if (d[a] != 1) throw Bad($"cannot squeeze axis {a} of size {d[a]}");
                return Reshape(x, d.Where((_, i) => !set.Contains(i)).ToArray());
            });
            Map("Slice", _ => Slice());
            Map("Expand", _ =>
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
            });
            Map("Split", _ =>
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
                var ys = Nodes(OpSet.Split, new SplitAttrs(axis, sizes), x);
                _more.AddRange(ys[1..]);
                return ys[0];
            });
            Map("Tile", _ =>
            {
                var x = In(0);
                var reps = ConstInts(1);
                var d = x.Spec.Shape.ToArray();
                if (reps.Length != d.Length) throw Bad($"repeats has {reps.Length} entries for a rank-{d.Length} input");
                if (reps.Any(v => v < 0)) throw Bad($"negative repeats [{string.Join(", ", reps)}]");
                // y[k·d + i] = x[i]: broadcast [1, d0, 1, d1, ...] to [r0, d0, r1, d1, ...] and merge the pairs.
                var pairs = d.SelectMany(v => new[] { 1L, v }).ToArray();
                var wide = d.SelectMany((v, i) => new[] { reps[i], v }).ToArray();
                var b = Node(OpSet.BroadcastTo, new ShapeAttrs(wide), Reshape(x, pairs));
                return Reshape(b, d.Select((v, i) => v * reps[i]).ToArray());
            });
            Map("Trilu", _ =>
            {
                var x = In(0);
                int rank = x.Spec.Shape.Rank;
                if (rank < 2) throw Bad($"input must have rank ≥ 2, got {x.Spec.Shape}");
                bool upper = Int("upper", 1) != 0;
                long k = Has(1) ? ConstInts(1) is [var kk] ? kk : throw Bad("k must be a scalar") : 0;
                long n = x.Spec.Shape[rank - 2], m = x.Spec.Shape[rank - 1];
                var keep = new byte[n * m];
                for (long i = 0; i < n; i++)
                    for (long j = 0; j < m; j++)
                        keep[i * m + j] = (byte)((upper ? j - i >= k : j - i <= k) ? 1 : 0);
                var mask = Graph.AddConstant(new TensorSpec(new Shape(n, m), DType.Bool), keep);
                return Select(mask, x, Sc(0, x));
            });
            Map(["DepthToSpace", "SpaceToDepth"], op =>
            {
                var x = In(0);
                if (x.Spec.Shape.Rank != 4) throw Bad($"input must have rank 4, got {x.Spec.Shape}");
                long b = Int("blocksize", 0);
                if (b < 1) throw Bad($"blocksize must be positive, got {b}");
                long n = x.Spec.Shape[0], c = x.Spec.Shape[1], h = x.Spec.Shape[2], w = x.Spec.Shape[3];
                if (op == "SpaceToDepth")
                {
                    if (h % b != 0 || w % b != 0) throw Bad($"spatial size {h}×{w} is not a multiple of blocksize {b}");
                    var t = Node(OpSet.Permute, new PermuteAttrs([0, 3, 5, 1, 2, 4]), Reshape(x, [n, c, h / b, b, w / b, b]));
                    return Reshape(t, [n, c * b * b, h / b, w / b]);
                }
                if (c % (b * b) != 0) throw Bad($"channels {c} are not a multiple of blocksize² {b * b}");
                bool crd = Str("mode", "DCR") == "CRD";
                if (!crd && Str("mode", "DCR") != "DCR") throw Bad($"mode '{Str("mode", "")}' is not supported (DCR or CRD)");
                var split = crd ? Reshape(x, [n, c / (b * b), b, b, h, w]) : Reshape(x, [n, b, b, c / (b * b), h, w]);
                int[] perm = crd ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2];
                return Reshape(Node(OpSet.Permute, new PermuteAttrs(perm), split), [n, c / (b * b), h * b, w * b]);
            });
        }

        private static long Prod(IEnumerable<long> d) => d.Aggregate(1L, (p, v) => p * v);

        /// <summary>ONNX Reshape's target: 0 copies the input dim (unless allowzero), one −1 is inferred.</summary>
        private long[] ReshapeTarget(long[] d, long[] shape, bool allowZero)
        {
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
            long total = Prod(d);
            if (infer >= 0)
            {
                if (known == 0 || total % known != 0) throw Bad($"cannot infer -1: {total} elements into [{string.Join(", ", shape)}]");
                res[infer] = total / known;
            }
            else if (known != total) throw Bad($"cannot reshape {total} elements into [{string.Join(", ", shape)}]");
            return res;
        }

        private Value Slice()
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
            if (ax.Distinct().Count() != ax.Length) throw Bad("repeated axes");
            var pos = new List<int>();
            var b = new List<long>();
            var e = new List<long>();
            var st = new List<long>();
            var y = x;
            for (int i = 0; i < ax.Length; i++)
            {
                long size = d[ax[i]], step = steps[i];
                if (step == 0) throw Bad("steps must not be 0");
                long Wrap(long v) => v < 0 ? v + size : v;
                if (step > 0)
                {
                    long s0 = Math.Clamp(Wrap(starts[i]), 0, size);
                    pos.Add(ax[i]);
                    b.Add(s0);
                    e.Add(Math.Max(s0, Math.Clamp(Wrap(ends[i]), 0, size)));
                    st.Add(step);
                    continue;
                }
                // Negative steps walk backwards from start (clamped to [0, size−1]) while above end (clamped to [−1, size−1]).
                if (size == 0) throw Bad("a negative-step slice of an empty axis is not supported");
                long from = Math.Clamp(Wrap(starts[i]), 0, size - 1), to = Math.Clamp(Wrap(ends[i]), -1, size - 1);
                var idx = new List<long>();
                for (long k = from; k > to; k += step) idx.Add(k);
                if (idx.Count == 0) throw Bad("an empty negative-step slice is not supported");
                y = Node(OpSet.Take, new TakeAttrs(ax[i]), y, ConstLongs(idx.ToArray(), idx.Count));
            }
            return pos.Count == 0 ? y : Node(OpSet.Slice, new SliceAttrs(pos.ToArray(), b.ToArray(), e.ToArray(), st.ToArray()), y);
        }
    }
}
